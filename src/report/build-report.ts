import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import sharp from 'sharp';
import { decodeImage } from '../image/decode.js';
import { writeDirAtomic } from '../storage/atomic-write.js';
import { joinLocation, relativeTo } from '../storage/location.js';
import { readInput } from '../storage/read-input.js';
import { readFailuresFiles } from '../output/failures-files.js';
import { findOutputFiles, readSa1bFile } from '../output/read-outputs.js';
import type { Sa1bFile } from '../output/sa1b.js';
import { asStorageError } from '../storage/storage-fault.js';
import { UsageError } from '../settings/validate.js';
import type { DatasetEntry, PageImage } from './client.js';
import { datasetHtml, imageHtml } from './pages.js';
import { histogramSvg } from './plots.js';

export interface ReportOptions {
  /** The output folder of a run. */
  out: string;
  /** The folder the images were read from; without it, masks are drawn on grey. */
  images?: string;
  /** The report folder to write: replaced as a whole when it holds an earlier report; any other non-empty folder is refused. */
  to: string;
  /** Longest side of the pictures on image pages (default 1600). */
  pictureSize?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface ReportSummary {
  images: number;
  masks: number;
  unreadable: { path: string; reason: string }[];
  failures: { path: string; reason: string }[];
  /** Images whose picture could not be read (their masks are drawn on grey). */
  missingPictures: string[];
}

const THUMB = 240;
/**
 * Writes a static review site for an output folder: index.html (counts,
 * histograms, failures and unreadable files, a sortable paged grid of
 * thumbnails) and image.html?i=N (the masks drawn in the page from their
 * RLE, with filters), with thumbnails, pictures and one data script per
 * image beside them. It opens from disk: no server, no network. Written
 * under a temporary name and renamed, so a report is whole or absent.
 */
export async function buildReport(o: ReportOptions): Promise<ReportSummary> {
  // Replacing a folder is only safe when it is an earlier report (or empty).
  const existing = await readdir(o.to).catch(() => undefined);
  if (existing?.length && !existsSync(path.join(o.to, 'data', 'dataset.js'))) {
    throw new UsageError(`--to ${o.to}: the folder exists and is not a sam-amg report; it would be replaced: choose another`);
  }
  const files = await findOutputFiles(o.out);
  const failures = (await readFailuresFiles(o.out)).flatMap((f) => f.failures);
  const summary: ReportSummary = { images: 0, masks: 0, unreadable: [], failures, missingPictures: [] };
  const outputs: Sa1bFile[] = [];
  for (const file of files) {
    try {
      const data = await readSa1bFile(file);
      if (data) outputs.push(data);
    } catch (err) {
      summary.unreadable.push({ path: relativeTo(o.out, file), reason: (err as Error).message.replace(`${file}: `, '') });
    }
  }
  outputs.sort((a, b) => (a.image.file_name < b.image.file_name ? -1 : a.image.file_name > b.image.file_name ? 1 : 0));
  await writeDirAtomic(o.to, (temp) => writeSite(temp, outputs, summary, failures, o))
    .catch((err) => { throw asStorageError(`--to ${o.to}`, o.to, err); });
  return summary;
}

/** The report's files, written into `temp`. */
async function writeSite(temp: string, outputs: Sa1bFile[], summary: ReportSummary, failures: ReportSummary['failures'], o: ReportOptions): Promise<void> {
  for (const sub of ['data/images', 'thumbs', 'pictures']) await mkdir(path.join(temp, sub), { recursive: true });
  const entries: DatasetEntry[] = [];
  const perImage: number[] = [];
  const areaFractions: number[] = [];
  const ious: number[] = [];
  const stabilities: number[] = [];
  const limit = pLimit(4);
  let done = 0;
  // The grey tile of an image without a picture, made once.
  let grey: Promise<Buffer> | undefined;
  const greyTile = () => (grey ??= sharp({ create: { width: THUMB, height: Math.round(THUMB * 0.66), channels: 3, background: '#999999' } }).jpeg().toBuffer());
  // The first failed write stops the others, and the folder is handed back only once none is still writing into it.
  let failure: unknown;
  await Promise.all(outputs.map((data, i) => limit(async () => {
    if (failure) return;
    try {
      await writeImagePage(temp, data, i, outputs.length, o, summary, greyTile);
      o.onProgress?.(++done, outputs.length);
    } catch (err) {
      failure ??= err;
    }
  })));
  if (failure) throw failure;
  outputs.forEach((data, i) => {
    const { image, annotations } = data;
    entries.push({ i, name: image.file_name, masks: annotations.length });
    perImage.push(annotations.length);
    for (const a of annotations) {
      areaFractions.push(a.area / (image.width * image.height));
      ious.push(a.predicted_iou);
      stabilities.push(a.stability_score);
    }
  });
  summary.images = outputs.length;
  summary.masks = ious.length;
  summary.missingPictures.sort();
  const title = `sam-amg report: ${path.basename(path.resolve(o.out))}`;
  const percent = (x: number) => `${+(100 * x).toPrecision(3)} %`;
  const plots = [
    histogramSvg({ title: 'masks per image', values: perImage, bins: Math.min(20, Math.max(1, ...perImage) + 1) }),
    histogramSvg({ title: 'mask area (fraction of image)', values: areaFractions, range: [0, 1], format: percent }),
    histogramSvg({ title: 'predicted IoU', values: ious }),
    histogramSvg({ title: 'stability score', values: stabilities }),
  ];
  await writeFile(path.join(temp, 'data/dataset.js'), `window.SAM_AMG_DATASET = ${JSON.stringify({ images: entries })};\n`);
  // Rejections are kept per output folder, so a report made again for it keeps them.
  const out = path.resolve(o.out);
  const review = { id: createHash('sha256').update(out).digest('hex').slice(0, 16), out };
  await writeFile(path.join(temp, 'index.html'), datasetHtml({ title, review, images: summary.images, masks: summary.masks, failures, unreadable: summary.unreadable, plots }));
  await writeFile(path.join(temp, 'image.html'), imageHtml(title, review));
}

/** One image's page data, picture and thumbnail (a grey tile where its picture cannot be read). */
async function writeImagePage(temp: string, data: Sa1bFile, i: number, count: number, o: ReportOptions, summary: ReportSummary,
  greyTile: () => Promise<Buffer>): Promise<void> {
  const { image, annotations } = data;
  const picture = o.images ? await pictureOf(joinLocation(o.images, ...image.file_name.split('/'))) : undefined;
  if (picture) {
    await writePictures(picture, temp, i, o.pictureSize ?? 1600);
  } else {
    summary.missingPictures.push(image.file_name);
    await writeFile(path.join(temp, 'thumbs', `${i}.jpg`), await greyTile());
  }
  const page: PageImage = {
    name: image.file_name, width: image.width, height: image.height, src: picture ? `pictures/${i}.jpg` : null,
    prev: i > 0 ? i - 1 : null, next: i < count - 1 ? i + 1 : null,
    masks: annotations.map((a) => ({
      id: a.id, counts: a.segmentation.counts, area: a.area, bbox: a.bbox, predicted_iou: a.predicted_iou,
      stability_score: a.stability_score, point: a.point_coords[0],
    })),
  };
  await writeFile(path.join(temp, 'data/images', `${i}.js`), `window.SAM_AMG_IMAGE = ${JSON.stringify(page)};\n`);
}

/** The picture as sam-amg decoded it for the masks (same orientation), or undefined when it cannot be read. */
async function pictureOf(file: string) {
  try {
    return await decodeImage(await readInput(file));
  } catch {
    return undefined;
  }
}

async function writePictures(p: { width: number; height: number; data: Uint8Array }, dir: string, i: number, size: number): Promise<void> {
  const raw = () => sharp(p.data, { raw: { width: p.width, height: p.height, channels: 3 } });
  const fit = { fit: 'inside' as const, withoutEnlargement: true };
  // Encoded in memory and written by Node, so a full disk or an I/O error keeps its error code.
  await writeFile(path.join(dir, 'pictures', `${i}.jpg`), await raw().resize(size, size, fit).jpeg({ quality: 85 }).toBuffer());
  await writeFile(path.join(dir, 'thumbs', `${i}.jpg`), await raw().resize(THUMB, THUMB, fit).jpeg({ quality: 75 }).toBuffer());
}
