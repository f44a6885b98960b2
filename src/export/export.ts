import { existsSync } from 'node:fs';
import { lstat, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tempNameFor, writeDirAtomic } from '../storage/atomic-write.js';
import { isS3 } from '../storage/location.js';
import { BufferedFile } from '../storage/buffered-file.js';
import { findOutputFiles, isSamAmgCocoFile, readOutputsInOrder } from '../output/read-outputs.js';
import type { Sa1bAnnotation, Sa1bFile } from '../output/sa1b.js';
import { removeStaleTemps } from '../storage/stale-temps.js';
import { storeFor } from '../storage/store.js';
import { placeInside, withExtension } from '../output/layout.js';
import { asStorageError, cleanUp } from '../storage/storage-fault.js';
import { UsageError } from '../errors.js';
import { VERSION } from '../version.js';
import { CocoWriter } from './coco.js';
import { labelMap, labelMapPng } from './label-map.js';
import { brushRle, LABEL_STUDIO_CONFIG, labelStudioNotes, labelStudioTask, referenceBrushEncoder } from './label-studio.js';
import { keptAnnotations, type StoredMaskFilter } from './mask-filter.js';
import { writeYoloLabels, yoloDataYaml } from './yolo.js';

export const EXPORT_FORMATS = ['coco', 'yolo', 'labelstudio', 'labelmap'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportOptions {
  /** The output folder of a run (either output format), or one per-image file. */
  out: string;
  format: ExportFormat;
  /** The COCO file, or the folder of the other formats. */
  to: string;
  filter?: StoredMaskFilter;
  /** Label Studio: put before each file_name in `data.image` (`/data/local-files/?d=images/`, `s3://bucket/`, `https://…/`). */
  imageRoot?: string;
  /** YOLO: Douglas–Peucker tolerance in pixels (0: the exact outline). */
  simplify?: number;
  /** Label Studio: the run-by-run brush RLE writer (default), or rle-pack's own encoder over every byte, its reference (for benchmarks). */
  brushEncoder?: 'runs' | 'rle-pack';
  /** How messages name the destination (default `--to`; `merge` says `--coco`). */
  destinationFlag?: string;
  onProgress?: (done: number, total: number) => void;
  /** Stops the export between files: nothing is written, the temporaries are removed, and the AbortError reaches the caller. */
  signal?: AbortSignal;
  /**
   * Per-image files read ahead of the one being written (default 8), so a
   * store's round trips (S3's above all) overlap; 1 reads each in turn, the
   * plain loop that the read-ahead is tested against byte for byte.
   */
  readAhead?: number;
}

export interface ExportSummary {
  images: number;
  /** Masks written, and masks the filters took out. */
  masks: number;
  filteredOut: number;
  /** Per-image files that could not be read or exported, each with the cause; the rest were exported. */
  failed: { path: string; reason: string }[];
  /** Label maps: pixels with a label, and all pixels. */
  labelledPixels: number;
  pixels: number;
  /** What the user should know about the export, a line each (a --reject naming files not in the folder, a YOLO folder Ultralytics will not find). */
  notes: string[];
}

/** Names the folder formats write besides their labels; an export there is replaced by the next. */
export const EXPORT_MARKER = '.sam-amg-export.json';

/** What each folder format writes: an earlier export holding anything else is not replaced. */
const WRITES: Record<Exclude<ExportFormat, 'coco'>, (name: string) => boolean> = {
  // Ultralytics leaves `<folder>.cache` beside the label files it read (inside the export when images sit in subfolders).
  yolo: (name) => name.endsWith('.txt') || name === 'data.yaml' || name.endsWith('.cache'),
  labelmap: (name) => name.endsWith('.png'),
  labelstudio: (name) => name === 'tasks.json' || name === 'config.xml',
};


interface FormatWriter {
  add(data: Sa1bFile, kept: Sa1bAnnotation[], source: string, summary: ExportSummary): Promise<void>;
  finish(): Promise<void>;
  abandon(): Promise<void>;
}

async function folderWriter(o: ExportOptions, dir: string): Promise<FormatWriter> {
  const done = async () => writeFile(path.join(dir, EXPORT_MARKER), `${JSON.stringify({ tool: 'sam-amg', version: VERSION, format: o.format, from: isS3(o.out) ? o.out : path.resolve(o.out), filter: describeFilter(o.filter) })}\n`);
  const nothing = async () => undefined;
  if (o.format === 'yolo') {
    return {
      add: (data, kept) => writeYoloLabels(dir, data, kept, o.simplify ?? 0),
      finish: async () => {
        await writeFile(path.join(dir, 'data.yaml'), yoloDataYaml(o.to));
        await done();
      },
      abandon: nothing,
    };
  }
  if (o.format === 'labelmap') {
    return {
      add: async (data, kept, _source, summary) => {
        const { width, height, file_name } = data.image;
        const { labels, labelled } = labelMap(data, kept);
        const target = placeInside(dir, withExtension(file_name, '.png'));
        await mkdir(path.dirname(target), { recursive: true });
        await writeFile(target, await labelMapPng(labels, width, height));
        summary.labelledPixels += labelled;
        summary.pixels += width * height;
      },
      finish: done,
      abandon: nothing,
    };
  }
  // Label Studio: one list of tasks, streamed.
  const tasks = await BufferedFile.create(path.join(dir, 'tasks.json'));
  const encode = o.brushEncoder === 'rle-pack' ? referenceBrushEncoder() : brushRle;
  let count = 0;
  await tasks.write('[');
  return {
    add: async (data, kept, _source, summary) => {
      // Said once, with the first task's name as the example.
      if (count === 0) summary.notes.push(...labelStudioNotes(o.imageRoot, data.image.file_name));
      await tasks.write(`${count++ ? ',' : ''}\n${labelStudioTask(data, kept, o.imageRoot ?? '', encode)}`);
    },
    finish: async () => {
      await tasks.write('\n]\n');
      await tasks.close();
      await writeFile(path.join(dir, 'config.xml'), LABEL_STUDIO_CONFIG);
      await done();
    },
    abandon: () => tasks.abandon(),
  };
}

function describeFilter(f: StoredMaskFilter = {}) {
  return {
    min_predicted_iou: f.minPredictedIou ?? null,
    min_stability_score: f.minStabilityScore ?? null,
    min_area: f.minArea ?? null,
    max_area_fraction: f.maxAreaFraction ?? null,
    rejected: f.reject ? [...f.reject.values()].reduce((n, ids) => n + ids.size, 0) : 0,
  };
}

/**
 * Hands the kept masks of each per-image file to the writer, in the files'
 * order, with up to `readAhead` files being read at once; unreadable files
 * are listed, not fatal.
 */
async function feed(o: ExportOptions, files: string[], writer: FormatWriter, summary: ExportSummary): Promise<void> {
  let done = 0;
  const rejectedNames = new Set<string>();
  for await (const read of readOutputsInOrder(files, o.readAhead ?? 8)) {
    o.signal?.throwIfAborted();
    const { file } = read;
    if ('error' in read) {
      summary.failed.push({ path: file, reason: read.error.message.replace(`${file}: `, '') });
      continue;
    }
    const { data } = read;
    o.onProgress?.(++done, files.length);
    // A COCO file (a merge kept in the folder) is no image's output.
    if (!data) continue;
    const kept = keptAnnotations(data, o.filter ?? {});
    if (o.filter?.reject?.has(data.image.file_name)) rejectedNames.add(data.image.file_name);
    try {
      await writer.add(data, kept, file, summary);
    } catch (err) {
      // A file's own fault (an id clash, labels that do not fit) skips it; a system error is the destination's and ends the export.
      if (!(err instanceof Error) || (err as NodeJS.ErrnoException).code !== undefined) throw err;
      summary.failed.push({ path: file, reason: err.message });
      continue;
    }
    summary.images++;
    summary.masks += kept.length;
    summary.filteredOut += data.annotations.length - kept.length;
  }
  const unknown = [...(o.filter?.reject?.keys() ?? [])].filter((name) => !rejectedNames.has(name));
  if (unknown.length) {
    summary.notes.push(`--reject names ${unknown.length} file${unknown.length === 1 ? '' : 's'} not in ${o.out}, whose rejections were not applied: `
      + `${unknown.slice(0, 3).map((n) => JSON.stringify(n)).join(', ')}${unknown.length > 3 ? ', …' : ''}`);
  }
  if (summary.images === 0) {
    throw new UsageError(`${o.out}: holds no sam-amg outputs${summary.failed.length ? ` it could read (${summary.failed.length} unreadable file${summary.failed.length === 1 ? '' : 's'})` : ''}; nothing was written`);
  }
}

/**
 * Writes the masks of an output folder in the form another tool reads:
 * `coco` one COCO instances file, `yolo` Ultralytics segmentation labels,
 * `labelstudio` Label Studio tasks with brush pre-annotations and their
 * labelling config, `labelmap` one 16-bit PNG of labels per image. Per-image
 * files are read one at a time; the destination is written under a
 * temporary name and renamed, so it is whole or absent (an earlier export of
 * the same kind is replaced; any other non-empty folder is refused).
 */
export async function exportLabels(o: ExportOptions): Promise<ExportSummary> {
  const destination = `${o.destinationFlag ?? '--to'} ${o.to}`;
  const target = path.resolve(o.to);
  if (!isS3(o.out) && !existsSync(o.out)) throw new UsageError(`${o.out}: no such file or folder`);
  const kind = await stat(o.to).then((st) => (st.isDirectory() ? 'folder' : 'file'), () => undefined);
  if (kind && (kind === 'folder') !== (o.format !== 'coco')) {
    throw new UsageError(`${destination}: is a ${kind}; the ${o.format} format writes a ${kind === 'folder' ? 'file' : 'folder'}`);
  }
  // An earlier export written inside the folder is not an image's output.
  const found = await findOutputFiles(o.out).catch((err: NodeJS.ErrnoException) => {
    throw err.code === 'ENOENT' && isS3(o.out) ? new UsageError(err.message) : err;
  });
  const files = found.filter((f) => path.resolve(f) !== target && !path.resolve(f).startsWith(`${target}${path.sep}`));
  const summary: ExportSummary = { images: 0, masks: 0, filteredOut: 0, failed: [], labelledPixels: 0, pixels: 0, notes: [] };
  if (o.format === 'yolo' && path.basename(target) !== 'labels') {
    summary.notes.push(`--to ${o.to}: Ultralytics looks for an image's labels in a folder named labels beside its images folder; this one is named ${JSON.stringify(path.basename(target))}`);
  }
  await mkdir(path.dirname(target), { recursive: true }).catch((err) => { throw asStorageError(destination, o.to, err); });
  await removeStaleTemps(path.dirname(target));
  if (o.format === 'coco') {
    await checkReplaceableFile(o.to, destination);
    const temp = tempNameFor(o.to);
    const side = tempNameFor(o.to);
    let writer: CocoWriter | undefined;
    try {
      writer = await CocoWriter.create(temp, side);
      await feed(o, files, writer, summary);
      await writer.finish();
      await rename(temp, o.to);
    } catch (err) {
      await writer?.abandon();
      await cleanUp(() => rm(temp, { force: true }));
      throw asStorageError(destination, o.to, err);
    }
    return summary;
  }
  await checkReplaceableFolder(o.to, o.format);
  await writeDirAtomic(o.to, async (dir) => {
    const writer = await folderWriter(o, dir);
    try {
      await feed(o, files, writer, summary);
      await writer.finish();
    } catch (err) {
      await writer.abandon();
      throw err;
    }
  }).catch((err) => { throw asStorageError(destination, o.to, err); });
  return summary;
}

/**
 * A folder export replaces only an earlier export of the same format that
 * holds nothing but what that format writes, and an empty folder: a user's
 * folder, or their images left inside an export, are never taken with it.
 */
async function checkReplaceableFolder(to: string, format: Exclude<ExportFormat, 'coco'>): Promise<void> {
  const refuse = (why: string) => new UsageError(`--to ${to}: ${why}; it would be replaced: move it, or choose another --to`);
  const entries = await storeFor(to).tree(to);
  if (!entries?.length) return;
  if (entries[0].name === '') throw refuse('it is a link or a file, not a folder sam-amg wrote');
  if (!entries.some((e) => e.name === EXPORT_MARKER && e.kind === 'file')) throw refuse('the folder exists and is not a sam-amg export');
  const foreign = entries.find((e) => e.kind === 'other' || (e.kind === 'file' && e.name !== EXPORT_MARKER && !WRITES[format](e.name)));
  if (foreign) throw refuse(`the export holds ${foreign.name}, which sam-amg did not write there`);
}

/** A COCO export replaces only a COCO file sam-amg wrote (a user's file, a link, a per-image output, a README are left alone). */
async function checkReplaceableFile(to: string, destination: string): Promise<void> {
  const info = await lstat(to).catch(() => undefined);
  if (info && !(info.isFile() && (await isSamAmgCocoFile(to)))) {
    throw new UsageError(`${destination}: the file exists and is not a COCO file sam-amg wrote; it would be replaced: move it, or choose another`);
  }
}
