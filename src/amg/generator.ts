import type { RgbImage } from '../image/rgb-image.js';
import { resolveSettings, type AmgSettings, type SettingsInput } from '../settings/settings.js';
import type { Candidates } from './batch.js';
import { InlineBatchProcessor, type BatchFrame, type BatchProcessor } from './batch-processor.js';
import { cropBoundsRefusal, CropBoundsError } from './crop-bounds.js';
import { cropImage } from './crop-image.js';
import { buildLayerPointGrids, buildPointGrid, generateCropBoxes, layerPointsPerSide, type CropBox } from './geometry.js';
import { firstPassSide, orInto, secondPassPoints } from './hierarchical.js';
import { MaskData } from './mask-data.js';
import { filterByArea, finishCrop, mergeCrops, removeSmallRegionsAll, toImageFrame } from './postprocess.js';
import { loosenedFilters, settleFiltered } from './graph-filter.js';
import { Proposals } from './proposals.js';
import type { CropEmbedding, PromptModel } from './prompt-model.js';
import { toRecords, type MaskRecord } from './records.js';

/** Multimask outputs per prompt (mask tokens 1..3). */
export const MASKS_PER_PROMPT = 3;

/**
 * Automatic mask generation with the reference's semantics: crops, point
 * grids, batched prompts, filters, NMS in and across crops, small-region
 * cleanup. Settings are validated here (unknown or out-of-range values throw
 * a UsageError); those not given take the defaults of the model's reference.
 */
export async function generateMasks(
  image: RgbImage,
  model: PromptModel,
  settings: SettingsInput = {},
  options: GenerateOptions = {},
): Promise<MaskRecord[]> {
  const s = resolveSettings(settings, 'default', 'keys', model.amgReference);
  return toRecords(await generateMaskData(image, model, s, options));
}

export interface GenerateOptions {
  /**
   * 'sparse' (default) computes upscaled logits only where they can pass a
   * threshold; 'full' computes every pixel, as the reference does. Both give
   * identical masks; 'full' is kept as the reference for tests.
   */
  upscale?: 'sparse' | 'full';
  /** Checked between decoder batches: an aborted run stops within one batch. */
  signal?: AbortSignal;
  /** Seconds spent per stage are added here. */
  timings?: StageTimings;
  /** Point prompts decoded are added here (the grid's size with grid sampling; fewer with hierarchical). */
  counts?: { prompts: number };
  /**
   * Where decoder batches are post-processed (default: inline, on this
   * thread). With a worker pool, up to `batchesInFlight` batches are
   * processed while the next decoder calls run.
   */
  processor?: BatchProcessor;
  /** Batches handed to the processor and not yet finished before decoding waits (default 2). */
  batchesInFlight?: number;
  /**
   * Told where generation is: as each crop's encoding starts, after each
   * decoder batch, and as the final post-processing starts. Called on the
   * generating thread; keep it cheap.
   */
  onProgress?: (p: GenerateProgress) => void;
}

/** Where mask generation of one image is, as `onProgress` is told. */
export interface GenerateProgress {
  stage: 'encode' | 'decode' | 'postprocess';
  /** Point prompts decoded so far. */
  promptsDone: number;
  /**
   * Point prompts the image takes in all. With hierarchical sampling the
   * second pass of a crop is counted at full density until its first pass
   * has shown how many it takes.
   */
  promptsTotal: number;
  /** The crop being worked on, from 1 (`crops` during the final post-processing). */
  crop: number;
  crops: number;
}

/** Seconds per stage of mask generation. */
export interface StageTimings {
  /** Crop, resize, normalise and the image encoder. */
  encode: number;
  /** Mask decoder calls. */
  decode: number;
  /** Upscaling, filters, RLE, NMS, small-region cleanup: the time the generator spent on it or waited for it. */
  postprocess: number;
}

export function emptyTimings(): StageTimings {
  return { encode: 0, decode: 0, postprocess: 0 };
}

const now = () => performance.now() / 1000;

export async function generateMaskData(
  image: RgbImage,
  model: PromptModel,
  s: AmgSettings,
  options: GenerateOptions = {},
): Promise<MaskData> {
  const crops = generateCropBoxes(image.height, image.width, s.cropNLayers, s.cropOverlapRatio);
  const refusal = cropBoundsRefusal(image.width, image.height, crops, model);
  if (refusal) throw new CropBoundsError(refusal);
  const grids = s.pointGrids ?? buildLayerPointGrids(s.pointsPerSide, s.cropNLayers, s.cropNPointsDownscaleFactor);
  const t = options.timings ?? emptyTimings();
  const reference = model.amgReference ?? 'sam';
  const processor = options.processor ?? new InlineBatchProcessor();
  // One queue across crops, so a crop's last batches are post-processed while the next crop is encoded.
  const queue = new BatchQueue(options.batchesInFlight ?? 2, t);
  const progress = new Progress(crops.map((crop) => plannedPrompts(grids[crop.layer], crop, s)), options.onProgress);
  const perCrop: CropBatches[] = [];
  for (const [k, crop] of crops.entries()) {
    progress.crop = k;
    perCrop.push(await processCrop(image, crop, grids[crop.layer], model, s, processor, queue, t, options, progress));
  }
  progress.crop = crops.length - 1;
  progress.tell('postprocess');
  await queue.drain(0);
  let started = now();
  const finished = crops.map((crop, k) => {
    const data = MaskData.cat(perCrop[k].batches as MaskData[]);
    return perCrop[k].nmsDone ? toImageFrame(data, crop.box) : finishCrop(data, crop.box, s.boxNmsThresh);
  });
  t.postprocess += now() - started;
  started = now();
  let data = MaskData.cat(finished);
  if (crops.length > 1) data = mergeCrops(data, s.cropNmsThresh);
  // SAM 2's generator cleans small regions on each candidate's low-resolution logits instead (batch.ts).
  if (s.minMaskRegionArea > 0 && reference === 'sam') {
    data = removeSmallRegionsAll(data, s.minMaskRegionArea, Math.max(s.boxNmsThresh, s.cropNmsThresh));
  }
  if (s.minMaskArea > 0 || s.maxMaskAreaFraction > 0) {
    data = filterByArea(data, s.minMaskArea, s.maxMaskAreaFraction, image.height * image.width);
  }
  t.postprocess += now() - started;
  return data;
}

/** Prompts a crop takes: its grid, or with hierarchical sampling the first pass and, at most, the full grid. */
function plannedPrompts(grid: Float64Array, crop: CropBox, s: AmgSettings): number {
  if (s.sampling !== 'hierarchical') return grid.length / 2;
  const side = layerPointsPerSide(s.pointsPerSide, s.cropNPointsDownscaleFactor, crop.layer);
  return firstPassSide(side) ** 2 + side * side;
}

/** Prompts decoded and planned per crop, told to `onProgress`. */
class Progress {
  done = 0;
  crop = 0;
  constructor(private readonly planned: number[], private readonly report?: (p: GenerateProgress) => void) {}

  /** The current crop turns out to take `prompts` in all. */
  replan(prompts: number): void {
    this.planned[this.crop] = prompts;
  }

  tell(stage: GenerateProgress['stage']): void {
    if (!this.report) return;
    let total = 0;
    for (const n of this.planned) total += n;
    this.report({ stage, promptsDone: this.done, promptsTotal: Math.max(total, this.done), crop: this.crop + 1, crops: this.planned.length });
  }
}

/**
 * Batch results in decoder order, some still being post-processed: `drain`
 * waits, oldest first, until at most `keep` are unfinished, and replaces each
 * finished promise in its crop's list by its value.
 */
class BatchQueue {
  private readonly entries: { list: (MaskData | Promise<MaskData>)[]; index: number }[] = [];
  private settled = 0;

  constructor(readonly inFlight: number, private readonly timings: StageTimings) {}

  push(list: (MaskData | Promise<MaskData>)[], result: MaskData | Promise<MaskData>): void {
    // A batch may fail before its turn to be awaited; that is reported when it is awaited, not as unhandled.
    if (result instanceof Promise) result.catch(() => {});
    list.push(result);
    this.entries.push({ list, index: list.length - 1 });
  }

  async drain(keep: number): Promise<void> {
    const started = now();
    while (this.entries.length - this.settled > keep) {
      const { list, index } = this.entries[this.settled];
      list[index] = await list[index];
      this.settled++;
    }
    this.timings.postprocess += now() - started;
  }
}

/** A crop's post-processed batches; `nmsDone` when they come from the filter graph's path, NMS already run. */
interface CropBatches {
  batches: (MaskData | Promise<MaskData>)[];
  nmsDone: boolean;
}

/**
 * Whether a crop's candidates go through the model's filter graph. Not for
 * hierarchical sampling (its first pass maps covered pixels) nor SAM 2's
 * low-resolution cleanup, which edit or read every candidate's full mask on the host.
 */
function filtersOnModel(model: PromptModel, s: AmgSettings): boolean {
  return model.filterCandidates !== undefined && s.sampling !== 'hierarchical' &&
    !((model.amgReference ?? 'sam') === 'sam2' && s.minMaskRegionArea > 0);
}

async function processCrop(
  image: RgbImage,
  crop: CropBox,
  grid: Float64Array,
  model: PromptModel,
  s: AmgSettings,
  processor: BatchProcessor,
  queue: BatchQueue,
  t: StageTimings,
  options: GenerateOptions,
  progress: Progress,
): Promise<CropBatches> {
  options.signal?.throwIfAborted();
  progress.tell('encode');
  const started = now();
  const pixels = cropImage(image, crop.box);
  const { width: w, height: h } = pixels;
  const embedding = await model.embed(pixels);
  t.encode += now() - started;
  const frame: BatchFrame = {
    cropBox: crop.box,
    imageH: image.height,
    imageW: image.width,
    geometry: {
      lowRes: model.lowResSize, inputSize: embedding.maskFrame,
      resizedH: embedding.maskHeight, resizedW: embedding.maskWidth, cropH: h, cropW: w,
    },
    upscale: options.upscale ?? 'sparse',
    reference: model.amgReference ?? 'sam',
  };
  const batches: (MaskData | Promise<MaskData>)[] = [];
  const decode = (points: Float64Array, onBatch: OnBatch) => decodePoints(points, w, h, embedding, model, s, t, options, progress, onBatch);
  const toProcessor = (passFrame: BatchFrame, into: (MaskData | Promise<MaskData>)[]): OnBatch => async (candidates) => {
    const started = now();
    queue.push(into, processor.process(candidates, passFrame, s));
    t.postprocess += now() - started;
    await queue.drain(queue.inFlight);
  };
  if (filtersOnModel(model, s)) {
    // The filter graph keeps the candidates that pass; only those NMS keeps are upscaled and encoded, on the host.
    const proposals = new Proposals(model.lowResSize ** 2);
    const exact = new InlineBatchProcessor();
    await decode(grid, async (c) => {
      const started = now();
      const filtered = await model.filterCandidates!(c.lowRes, c.iouPreds, c.count, frame, loosenedFilters(s));
      const { kept, boxes } = settleFiltered(c, filtered, exact.cropFrame(frame), s);
      proposals.add(c, kept, boxes);
      t.postprocess += now() - started;
    });
    const started = now();
    queue.push(batches, processor.process(proposals.survivors(s.boxNmsThresh), { ...frame, encodeOnly: true }, s));
    t.postprocess += now() - started;
    return { batches, nmsDone: true };
  }
  if (s.sampling !== 'hierarchical') {
    await decode(grid, toProcessor(frame, batches));
    return { batches, nmsDone: false };
  }
  // TinySAM: the first pass on a quarter-density grid, its covered map, then the second pass where it is not covered.
  const side = layerPointsPerSide(s.pointsPerSide, s.cropNPointsDownscaleFactor, crop.layer);
  const firstGrid = buildPointGrid(firstPassSide(side));
  const first: (MaskData | Promise<MaskData>)[] = [];
  await decode(firstGrid, toProcessor({ ...frame, coverAbove: s.highScoreThresh }, first));
  await queue.drain(0);
  const covered = new Uint8Array(w * h);
  for (const data of first as MaskData[]) if (data.covered) orInto(covered, data.covered);
  const second = secondPassPoints(firstGrid, w, h, side, covered);
  progress.replan((firstGrid.length + second.length) / 2);
  await decode(second, toProcessor(frame, batches));
  // The second pass's masks come first, as TinySAM's `new_masks.cat(ori_masks)` joins them.
  batches.push(...(first as MaskData[]));
  return { batches, nmsDone: false };
}

/** Takes one decoder batch's candidates; the time it spends counts as post-processing. */
type OnBatch = (candidates: Candidates) => Promise<void>;

/** Decodes `grid` (normalised to the crop) in batches of prompts and hands each batch's candidates on, in order. */
async function decodePoints(
  grid: Float64Array,
  w: number,
  h: number,
  embedding: CropEmbedding,
  model: PromptModel,
  s: AmgSettings,
  t: StageTimings,
  options: GenerateOptions,
  progress: Progress,
  onBatch: OnBatch,
): Promise<void> {
  const nPoints = grid.length / 2;
  const scaleX = embedding.pointScaleX;
  const scaleY = embedding.pointScaleY;
  for (let first = 0; first < nPoints; first += s.pointsPerBatch) {
    const count = Math.min(s.pointsPerBatch, nPoints - first);
    const points = new Float64Array(count * 2);
    const prompts = new Float32Array(count * 2);
    for (let k = 0; k < count; k++) {
      const x = grid[2 * (first + k)] * w;
      const y = grid[2 * (first + k) + 1] * h;
      points[2 * k] = x;
      points[2 * k + 1] = y;
      prompts[2 * k] = x * scaleX;
      prompts[2 * k + 1] = y * scaleY;
    }
    options.signal?.throwIfAborted();
    const started = now();
    // Logits of prompts with no IoU above the threshold are never read: the filter drops them first.
    const decoded = await model.decode(embedding, prompts, count, s.predIouThresh > 0 ? { iouFloor: s.predIouThresh } : {});
    t.decode += now() - started;
    if (options.counts) options.counts.prompts += count;
    progress.done += count;
    progress.tell('decode');
    await onBatch({
      count: count * MASKS_PER_PROMPT,
      lowRes: decoded.lowRes,
      iouPreds: decoded.iouPreds,
      points: repeatEach(points, MASKS_PER_PROMPT),
    });
  }
}

/** numpy's `repeat(times, axis=0)` on (x, y) rows. */
function repeatEach(points: Float64Array, times: number): Float64Array {
  const out = new Float64Array(points.length * times);
  for (let k = 0; k < points.length / 2; k++) {
    for (let t = 0; t < times; t++) {
      out[2 * (k * times + t)] = points[2 * k];
      out[2 * (k * times + t) + 1] = points[2 * k + 1];
    }
  }
  return out;
}
