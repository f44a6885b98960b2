import path from 'node:path';
import sharp from 'sharp';
import { decodeImage } from '../image/decode.js';
import { writeFileAtomic } from '../output/atomic-write.js';
import { folderStatus, formatStatus } from '../output/folder-status.js';
import { buildReport } from '../report/build-report.js';
import { formatReport, InspectCollector } from '../output/inspect.js';
import { mergeToCoco } from '../output/merge-coco.js';
import { StorageError, writingTo } from '../output/storage-fault.js';
import { drawOverlay } from '../output/overlay.js';
import { findOutputFiles, readSa1bFile } from '../output/read-outputs.js';
import { checkNumber, UsageError } from '../settings/validate.js';
import { EXIT } from './run-command.js';

/** `sam-amg merge OUT --coco FILE` */
export async function mergeCommand(outDir: string, o: { coco: string; quiet?: boolean }): Promise<number> {
  const summary = await mergeToCoco(outDir, o.coco).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new UsageError(`${err.path ?? outDir}: no such file or folder`);
    throw err;
  });
  for (const f of summary.failed) process.stderr.write(`sam-amg: ${f.path}: ${f.reason}\n`);
  if (!o.quiet) {
    process.stderr.write(`sam-amg: merged ${summary.images} images and ${summary.annotations} annotations into ${o.coco}` +
      `${summary.failed.length ? `; ${summary.failed.length} files skipped` : ''}\n`);
  }
  return summary.failed.length ? EXIT.someFailed : EXIT.ok;
}

/** `sam-amg inspect OUT_OR_FILE [--viz DIR --images DIR] [--json]` */
export async function inspectCommand(target: string, o: { viz?: string; images?: string; json?: boolean }): Promise<number> {
  if (o.viz && !o.images) throw new UsageError('--viz needs --images DIR, the folder the images were read from');
  const files = await findOutputFiles(target).catch(() => {
    throw new UsageError(`${target}: no such file or folder`);
  });
  const collector = new InspectCollector();
  let failed = 0;
  for (const file of files) {
    try {
      const data = await readSa1bFile(file);
      if (!data) continue;
      collector.add(data);
      if (o.viz) {
        const source = path.join(o.images!, ...data.image.file_name.split('/'));
        const image = await decodeImage(source).catch((err) => {
          throw new Error(`${source}: ${(err as Error).message}`);
        });
        if (image.width !== data.image.width || image.height !== data.image.height) {
          throw new Error(`${source} is ${image.width}×${image.height} but its masks are ${data.image.width}×${data.image.height}`);
        }
        const drawn = drawOverlay(image, data.annotations);
        const png = await sharp(drawn.data, { raw: { width: drawn.width, height: drawn.height, channels: 3 } }).png().toBuffer();
        const overlay = path.join(o.viz, data.image.file_name.replace(/\.[^./]*$/, '') + '.png');
        await writingTo(`--viz ${o.viz}`, overlay, () => writeFileAtomic(overlay, png));
      }
    } catch (err) {
      // The storage of --viz failing stops the command; one file's fault does not.
      if (err instanceof StorageError) throw err;
      failed++;
      process.stderr.write(`sam-amg: ${(err as Error).message}\n`);
    }
  }
  const report = collector.report();
  process.stdout.write(o.json ? `${JSON.stringify(report)}\n` : `${formatReport(report)}\n`);
  return failed ? EXIT.someFailed : EXIT.ok;
}

/** `sam-amg status OUT [--shards N] [--json]` */
export async function statusCommand(out: string, o: { shards?: string; json?: boolean }): Promise<number> {
  const shards = o.shards === undefined ? undefined : checkNumber('--shards', o.shards, { integer: true, min: 1, max: 1_000_000 });
  const status = await folderStatus(out, shards).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') throw new UsageError(`${out}: no such folder`);
    throw err;
  });
  if (o.json) {
    const { otherFingerprint, ...rest } = status;
    process.stdout.write(`${JSON.stringify({ ...rest, other_fingerprint: otherFingerprint })}\n`);
  } else {
    process.stdout.write(formatStatus(status));
  }
  return status.unreadable.length ? EXIT.someFailed : EXIT.ok;
}

/** `sam-amg report OUT --to DIR [--images DIR]` */
export async function reportCommand(out: string, o: { to: string; images?: string; quiet?: boolean }): Promise<number> {
  const started = performance.now();
  const summary = await buildReport({ out, images: o.images, to: o.to }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' && err.path === out) throw new UsageError(`${out}: no such folder`);
    throw err;
  });
  for (const u of summary.unreadable) process.stderr.write(`sam-amg: ${path.join(out, u.path)}: ${u.reason}\n`);
  if (!o.quiet) {
    const missing = summary.missingPictures.length;
    process.stderr.write(`sam-amg: report of ${summary.images} images and ${summary.masks} masks in ${o.to}/index.html ` +
      `(${((performance.now() - started) / 1000).toFixed(1)} s)` +
      `${summary.unreadable.length ? `; ${summary.unreadable.length} unreadable files listed` : ''}` +
      `${missing ? `; ${missing} picture${missing === 1 ? '' : 's'} not found${o.images ? '' : ' (pass --images DIR)'}, masks drawn on grey` : ''}\n`);
  }
  return summary.unreadable.length ? EXIT.someFailed : EXIT.ok;
}
