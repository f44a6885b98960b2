import { stat } from 'node:fs/promises';
import { exportLabels, type ExportFormat, type ExportSummary } from '../export/export.js';
import { filterFromFlags, type FilterFlags } from '../export/mask-filter.js';
import { decodeImage } from '../image/decode.js';
import { folderStatus, formatStatus } from '../output/folder-status.js';
import { buildReport } from '../report/build-report.js';
import { formatReport, InspectCollector } from '../output/inspect.js';
import { StorageError, writingTo } from '../storage/storage-fault.js';
import { drawOverlay, overlayPng, writeOverlay } from '../output/overlay.js';
import { liesInside, placeInside, withExtension } from '../output/layout.js';
import { StaleTempSweeper } from '../storage/stale-temps.js';
import { findOutputFiles, readSa1bFile } from '../output/read-outputs.js';
import { checkNumber, UsageError } from '../errors.js';
import { isHttp, isS3, joinLocation } from '../storage/location.js';
import { count } from './progress.js';
import { EXIT } from './run-command.js';

export interface ExportFlags extends FilterFlags {
  format: ExportFormat;
  to: string;
  imageRoot?: string;
  simplify?: string;
  quiet?: boolean;
}

/**
 * Runs a command that writes a destination with SIGINT and SIGTERM taken
 * as a run takes them: the first stops it between files (its temporaries
 * removed, nothing half-written left) and it exits 130; a second exits at
 * once.
 */
export async function interruptible(command: (signal: AbortSignal) => Promise<number>): Promise<number> {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(EXIT.interrupted);
    process.stderr.write(`sam-amg: ${name}: stopping (send it again to stop at once)\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await command(controller.signal);
  } catch (err) {
    if (controller.signal.aborted && (err as Error)?.name === 'AbortError') return EXIT.interrupted;
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function filteredNote(summary: ExportSummary): string {
  return summary.filteredOut ? `; ${count(summary.filteredOut, 'mask')} filtered out` : '';
}

function skippedNote(summary: ExportSummary, quiet?: boolean): string {
  for (const f of summary.failed) process.stderr.write(`sam-amg: ${f.path}: ${f.reason}\n`);
  if (!quiet) for (const note of summary.notes) process.stderr.write(`sam-amg: ${note}\n`);
  return summary.failed.length ? `; ${count(summary.failed.length, 'file')} skipped` : '';
}

/** `sam-amg export OUT --format FORMAT --to DEST` */
export async function exportCommand(out: string, o: ExportFlags, signal?: AbortSignal): Promise<number> {
  const filter = await filterFromFlags(o);
  const simplify = o.simplify === undefined ? undefined : checkNumber('--simplify', o.simplify, { min: 0 });
  if (o.format !== 'yolo' && simplify !== undefined) throw new UsageError('--simplify goes with --format yolo (the other formats hold masks, not polygons)');
  if (o.format !== 'labelstudio' && o.imageRoot !== undefined) throw new UsageError('--image-root goes with --format labelstudio');
  const summary = await exportLabels({ out, format: o.format, to: o.to, filter, imageRoot: o.imageRoot, simplify, signal });
  const skipped = skippedNote(summary, o.quiet);
  if (!o.quiet) {
    const labelled = o.format === 'labelmap' ? `; ${(100 * summary.labelledPixels / Math.max(1, summary.pixels)).toFixed(1)} % of pixels labelled` : '';
    process.stderr.write(`sam-amg: exported ${count(summary.images, 'image')} and ${count(summary.masks, 'mask')} as ${o.format} to ${o.to}${filteredNote(summary)}${labelled}${skipped}\n`);
  }
  return summary.failed.length ? EXIT.someFailed : EXIT.ok;
}

/** `sam-amg merge OUT --coco FILE`: `export --format coco`, named as before. */
export async function mergeCommand(out: string, o: FilterFlags & { coco: string; quiet?: boolean }, signal?: AbortSignal): Promise<number> {
  const filter = await filterFromFlags(o);
  const summary = await exportLabels({ out, format: 'coco', to: o.coco, filter, destinationFlag: '--coco', signal });
  const skipped = skippedNote(summary, o.quiet);
  if (!o.quiet) {
    process.stderr.write(`sam-amg: merged ${count(summary.images, 'image')} and ${count(summary.masks, 'annotation')} into ${o.coco}${filteredNote(summary)}${skipped}\n`);
  }
  return summary.failed.length ? EXIT.someFailed : EXIT.ok;
}

/** A local folder given to --images that is not there: refused in one line (S3 prefixes and URLs are looked at per image). */
async function refuseMissingImageFolders(roots: string[]): Promise<void> {
  for (const root of roots) {
    if (isHttp(root) || isS3(root)) continue;
    const info = await stat(root).catch(() => undefined);
    if (!info) throw new UsageError(`--images ${root}: no such folder`);
    if (!info.isDirectory()) throw new UsageError(`--images ${root}: is a file, not the folder the images were read from`);
  }
}

/** The first of the candidate files that is there (the first when none is). */
async function firstExisting(candidates: string[]): Promise<string> {
  for (const file of candidates) if ((await stat(file).catch(() => undefined))?.isFile()) return file;
  return candidates[0];
}

/** `sam-amg inspect OUT_OR_FILE [--viz DIR --images DIR...] [--json]` */
export async function inspectCommand(target: string, o: { viz?: string; images?: string[]; json?: boolean }, signal?: AbortSignal): Promise<number> {
  const roots = o.images ?? [];
  if (o.viz && roots.length === 0) throw new UsageError('--viz needs --images DIR, the folder the images were read from');
  if (!o.viz && roots.length > 0) throw new UsageError('--images goes with --viz DIR: it says where the images are to draw overlays of; inspect alone reads only the masks');
  // Overlays among the images would be taken for images by the next run, and could stand where an image is.
  for (const root of roots) {
    if (o.viz && liesInside(root, o.viz)) throw new UsageError(`--viz ${o.viz}: lies inside --images ${root}; write the overlays elsewhere`);
  }
  if (!isS3(target) && !(await stat(target).catch(() => undefined))) throw new UsageError(`${target}: no such file or folder`);
  await refuseMissingImageFolders(roots);
  const files = await findOutputFiles(target).catch(() => {
    throw new UsageError(`${target}: no such file or folder`);
  });
  const collector = new InspectCollector();
  const sweeper = new StaleTempSweeper();
  let failed = 0;
  for (const file of files) {
    signal?.throwIfAborted();
    try {
      const data = await readSa1bFile(file);
      if (!data) continue;
      collector.add(data);
      if (o.viz) {
        // The first folder that has the image: a run over several input folders is drawn from all of them.
        const source = await firstExisting(roots.map((root) => placeInside(root, data.image.file_name)));
        const image = await decodeImage(source).catch((err) => {
          throw new Error(`${source}: ${(err as Error).message}${roots.length > 1 ? ` (nor in the other --images folders)` : ''}`);
        });
        if (image.width !== data.image.width || image.height !== data.image.height) {
          throw new Error(`${source} is ${image.width}×${image.height} but its masks are ${data.image.width}×${data.image.height}`);
        }
        const png = await overlayPng(drawOverlay(image, data.annotations));
        const overlay = placeInside(o.viz, withExtension(data.image.file_name, '.png'));
        await writingTo(`--viz ${o.viz}`, overlay, async () => {
          await sweeper.before(overlay);
          await writeOverlay(overlay, png);
        });
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

/** `sam-amg report OUT --to DIR [--images DIR...]` */
export async function reportCommand(out: string, o: { to: string; images?: string[]; quiet?: boolean }, signal?: AbortSignal): Promise<number> {
  const started = performance.now();
  await refuseMissingImageFolders(o.images ?? []);
  const summary = await buildReport({ out, images: o.images, to: o.to, signal }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' && err.path === out) throw new UsageError(`${out}: no such folder`);
    throw err;
  });
  for (const u of summary.unreadable) process.stderr.write(`sam-amg: ${joinLocation(out, u.path)}: ${u.reason}\n`);
  if (!o.quiet) {
    const missing = summary.missingPictures.length;
    process.stderr.write(`sam-amg: report of ${count(summary.images, 'image')} and ${count(summary.masks, 'mask')} in ${o.to}/index.html ` +
      `(${((performance.now() - started) / 1000).toFixed(1)} s)` +
      `${summary.unreadable.length ? `; ${count(summary.unreadable.length, 'unreadable file')} listed` : ''}` +
      `${missing ? `; ${count(missing, 'picture')} not found${o.images?.length ? '' : ' (pass --images DIR)'}, masks drawn on grey` : ''}\n`);
  }
  return summary.unreadable.length ? EXIT.someFailed : EXIT.ok;
}
