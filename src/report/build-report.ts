import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { decodeImage } from '../image/decode.js';
import { readFailuresFiles } from '../output/failures-files.js';
import { liesInside, placeInside, UnsafeNameError } from '../output/layout.js';
import { findOutputFiles, readOutputsInOrder } from '../output/read-outputs.js';
import type { Sa1bFile } from '../output/sa1b.js';
import { UsageError } from '../errors.js';
import { writeDirAtomic } from '../storage/atomic-write.js';
import { BufferedFile } from '../storage/buffered-file.js';
import { isS3, relativeTo } from '../storage/location.js';
import { readInput } from '../storage/read-input.js';
import { removeStaleTemps } from '../storage/stale-temps.js';
import { asStorageError } from '../storage/storage-fault.js';
import { VERSION } from '../version.js';
import type { PageImage } from './client.js';
import { scriptData } from './escape.js';
import { datasetHtml, imageHtml } from './pages.js';
import { ReportStatistics } from './plots.js';

export interface ReportOptions {
  /** The output folder of a run. */
  out: string;
  /**
   * The folder (or s3:// prefix, or http(s):// base URL) the images were read
   * from, or several: each image's picture is looked for under each by its
   * file_name, the first that has it taken. Without it, masks are drawn on grey.
   */
  images?: string | string[];
  /** The report folder to write: replaced as a whole when it holds an earlier report; any other non-empty folder is refused. */
  to: string;
  /** Longest side of the pictures on image pages (default 1600). */
  pictureSize?: number;
  /** Per-image files processed, of all found. */
  onProgress?: (done: number, total: number) => void;
  /** Stops the report between files: nothing is written, the temporary folder is removed, and the AbortError reaches the caller. */
  signal?: AbortSignal;
}

export interface ReportSummary {
  images: number;
  masks: number;
  unreadable: { path: string; reason: string }[];
  failures: { path: string; reason: string }[];
  /** Images whose picture could not be read (their masks are drawn on grey). */
  missingPictures: string[];
}

/** Names every report sam-amg writes; a folder holding it may be replaced by the next report. */
export const REPORT_MARKER = '.sam-amg-report.json';
/** How data/dataset.js of a report from before the marker starts. */
const EARLIER_REPORT_START = 'window.SAM_AMG_DATASET = ';
/** The thumbnail shared by every image whose picture cannot be read. */
const MISSING_THUMB = 'thumbs/missing.jpg';
const THUMB = 240;
/** Per-image files read ahead of the one being handled, and images being written at once: what bounds the memory. */
const READ_AHEAD = 8;
const WRITING_AT_ONCE = 4;

/**
 * Writes a static review site for an output folder: index.html (counts,
 * histograms, failures and unreadable files, a sortable paged grid of
 * thumbnails) and image.html?i=N (the masks drawn in the page from their
 * RLE, with filters), with thumbnails, pictures and one data script per
 * image beside them. It opens from disk: no server, no network. The pages
 * are in the order of the per-image files' names; each file is read once
 * and its page written, so memory stays bounded however many there are.
 * Written under a temporary name and renamed, so a report is whole or absent.
 */
export async function buildReport(o: ReportOptions): Promise<ReportSummary> {
  const target = path.resolve(o.to);
  await refuseUnlessReplaceable(o.to);
  if (!isS3(o.out) && liesInside(target, o.out)) {
    throw new UsageError(`--to ${o.to}: holds the output folder ${o.out}, which the report would replace: choose another`);
  }
  const found = await findOutputFiles(o.out);
  // A report written inside the output folder is not an image's output (its marker is a .json file).
  const files = !isS3(o.out) && liesInside(o.out, target) ? found.filter((f) => !liesInside(target, f)) : found;
  const failures = (await readFailuresFiles(o.out)).flatMap((f) => f.failures);
  const summary: ReportSummary = { images: 0, masks: 0, unreadable: [], failures, missingPictures: [] };
  const destination = `--to ${o.to}`;
  await mkdir(path.dirname(target), { recursive: true }).catch((err) => { throw asStorageError(destination, o.to, err); });
  // A report killed before its rename left its temporary folder here.
  await removeStaleTemps(path.dirname(target));
  await writeDirAtomic(o.to, (temp) => writeSite(temp, files, summary, o))
    .catch((err) => { throw asStorageError(destination, o.to, err); });
  summary.missingPictures.sort();
  return summary;
}

/** Replacing a folder is only safe when it is empty or a report sam-amg wrote: anything else is a UsageError. */
async function refuseUnlessReplaceable(to: string): Promise<void> {
  const entries = await readdir(to).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    if (err.code === 'ENOTDIR') throw new UsageError(`--to ${to}: is not a folder: choose another`);
    throw asStorageError(`--to ${to}`, to, err);
  });
  if (!entries?.length || (await isMarkedReport(to)) || (await isEarlierReport(to))) return;
  throw new UsageError(`--to ${to}: the folder exists and is not a sam-amg report; it would be replaced: choose another`);
}

async function isMarkedReport(dir: string): Promise<boolean> {
  try {
    return JSON.parse(await readFile(path.join(dir, REPORT_MARKER), 'utf8'))?.tool === 'sam-amg';
  } catch {
    return false;
  }
}

/** A report from before the marker: its data/dataset.js starts as sam-amg wrote it. */
async function isEarlierReport(dir: string): Promise<boolean> {
  const start = Buffer.byteLength(EARLIER_REPORT_START);
  try {
    const handle = await open(path.join(dir, 'data', 'dataset.js'), 'r');
    try {
      const { buffer, bytesRead } = await handle.read(Buffer.alloc(start), 0, start, 0);
      return bytesRead === start && buffer.toString('utf8') === EARLIER_REPORT_START;
    } finally {
      await handle.close();
    }
  } catch {
    return false;
  }
}

/** Where an image's picture is under `images`; undefined when its name cannot be placed there (it is then a missing picture). */
export function pictureLocation(images: string, fileName: string): string | undefined {
  try {
    return placeInside(images, fileName);
  } catch (err) {
    if (err instanceof UnsafeNameError) return undefined;
    throw err;
  }
}

/** A column of whole numbers that grows as images are added: 4 bytes an image. */
class Column {
  private values = new Uint32Array(1024);
  length = 0;

  push(value: number): void {
    if (this.length === this.values.length) {
      const grown = new Uint32Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = value;
  }

  set(index: number, value: number): void {
    this.values[index] = value;
  }

  /** As a JSON array, written in pieces so no string holds all of it at once. */
  async writeJson(file: BufferedFile): Promise<void> {
    await file.write('[');
    for (let i = 0; i < this.length; i += 65536) {
      await file.write(`${i ? ',' : ''}${this.values.subarray(i, Math.min(this.length, i + 65536)).join(',')}`);
    }
    await file.write(']');
  }
}

/**
 * The report's files, written into `temp` as the per-image files are read:
 * each image's page data, picture and thumbnail at once, its name streamed
 * into data/dataset.js; kept are only its mask count and whether it has a
 * picture, and the statistics in fixed bins.
 */
async function writeSite(temp: string, files: string[], summary: ReportSummary, o: ReportOptions): Promise<void> {
  for (const sub of ['data/images', 'thumbs', 'pictures']) await mkdir(path.join(temp, sub), { recursive: true });
  const dataset = await BufferedFile.create(path.join(temp, 'data/dataset.js'));
  const masks = new Column();
  const pictured = new Column();
  const statistics = new ReportStatistics();
  const writing = new Set<Promise<void>>();
  // The first failed write stops the others, and the folder is handed back only once none is still writing into it.
  let failure: unknown;
  const startWriting = (write: Promise<void>) => {
    const job = write.catch((err) => { failure ??= err; }).finally(() => writing.delete(job));
    writing.add(job);
  };
  try {
    await dataset.write(`${EARLIER_REPORT_START}{"names":[`);
    let done = 0;
    for await (const read of readOutputsInOrder(files, READ_AHEAD)) {
      o.signal?.throwIfAborted();
      o.onProgress?.(++done, files.length);
      if ('error' in read) {
        summary.unreadable.push({ path: relativeTo(o.out, read.file), reason: read.error.message.replace(`${read.file}: `, '') });
        continue;
      }
      // A COCO file (a merge kept in the folder) is no image's output.
      if (!read.data) continue;
      const { image, annotations } = read.data;
      const i = summary.images++;
      summary.masks += annotations.length;
      statistics.addImage(image.width, image.height, annotations);
      masks.push(annotations.length);
      pictured.push(0);
      await dataset.write(`${i ? ',' : ''}${scriptData(image.file_name)}`);
      while (writing.size >= WRITING_AT_ONCE) await Promise.race(writing);
      if (failure) break;
      startWriting(writeImagePage(temp, read.data, i, o, summary).then((hasPicture) => pictured.set(i, hasPicture ? 1 : 0)));
    }
    await Promise.all(writing);
    if (failure) throw failure;
    await dataset.write('],"masks":');
    await masks.writeJson(dataset);
    await dataset.write(',"pictured":');
    await pictured.writeJson(dataset);
    await dataset.write('};\n');
    await dataset.close();
  } catch (err) {
    await Promise.all(writing);
    await dataset.abandon();
    throw err;
  }
  if (summary.missingPictures.length) {
    await writeFile(path.join(temp, MISSING_THUMB),
      await sharp({ create: { width: THUMB, height: Math.round(THUMB * 0.66), channels: 3, background: '#999999' } }).jpeg().toBuffer());
  }
  const title = `sam-amg report: ${path.basename(isS3(o.out) ? o.out.replace(/\/+$/, '') : path.resolve(o.out))}`;
  // Rejections are kept per output folder, so a report made again for it keeps them.
  const out = isS3(o.out) ? o.out : path.resolve(o.out);
  const review = { id: createHash('sha256').update(out).digest('hex').slice(0, 16), out };
  const { failures, unreadable } = summary;
  await writeFile(path.join(temp, 'index.html'),
    datasetHtml({ title, review, images: summary.images, masks: summary.masks, failures, unreadable, plots: statistics.plots() }));
  await writeFile(path.join(temp, 'image.html'), imageHtml(title, review, summary.images));
  await writeFile(path.join(temp, REPORT_MARKER), `${JSON.stringify({ tool: 'sam-amg', version: VERSION, kind: 'report', from: out })}\n`);
}

/** One image's page data, picture and thumbnail; whether it has a picture (without one it shares the grey thumbnail). */
async function writeImagePage(temp: string, data: Sa1bFile, i: number, o: ReportOptions, summary: ReportSummary): Promise<boolean> {
  const { image, annotations } = data;
  const roots = o.images === undefined ? [] : typeof o.images === 'string' ? [o.images] : o.images;
  const picture = await pictureOf(roots, image.file_name);
  if (picture) await writePictures(picture, temp, i, o.pictureSize ?? 1600);
  else summary.missingPictures.push(image.file_name);
  const page: PageImage = {
    name: image.file_name, width: image.width, height: image.height, src: picture ? `pictures/${i}.jpg` : null,
    masks: annotations.map((a) => ({
      id: a.id, counts: a.segmentation.counts, area: a.area, bbox: a.bbox, predicted_iou: a.predicted_iou,
      stability_score: a.stability_score, point: a.point_coords[0],
    })),
  };
  await writeFile(path.join(temp, 'data/images', `${i}.js`), `window.SAM_AMG_IMAGE = ${scriptData(page)};\n`);
  return picture !== undefined;
}

/**
 * The picture as sam-amg decoded it for the masks (same orientation), from
 * the first of `roots` that has a file at `fileName`; undefined when none
 * has one, or the one found cannot be decoded.
 */
async function pictureOf(roots: string[], fileName: string) {
  for (const root of roots) {
    const location = pictureLocation(root, fileName);
    if (location === undefined) continue;
    const bytes = await readInput(location).catch(() => undefined);
    if (bytes === undefined) continue;
    return decodeImage(bytes).catch(() => undefined);
  }
  return undefined;
}

async function writePictures(p: { width: number; height: number; data: Uint8Array }, dir: string, i: number, size: number): Promise<void> {
  const raw = () => sharp(p.data, { raw: { width: p.width, height: p.height, channels: 3 } });
  const fit = { fit: 'inside' as const, withoutEnlargement: true };
  // Encoded in memory and written by Node, so a full disk or an I/O error keeps its error code.
  await writeFile(path.join(dir, 'pictures', `${i}.jpg`), await raw().resize(size, size, fit).jpeg({ quality: 85 }).toBuffer());
  await writeFile(path.join(dir, 'thumbs', `${i}.jpg`), await raw().resize(THUMB, THUMB, fit).jpeg({ quality: 75 }).toBuffer());
}
