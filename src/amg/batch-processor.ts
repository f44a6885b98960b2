import type { AmgReference, AmgSettings } from '../settings/settings.js';
import { processBatch, type Candidates, type CropFrame } from './batch.js';
import type { BoxXyxy } from './geometry.js';
import { MaskData } from './mask-data.js';
import { FullUpscaler, SparseUpscaler, type UpscaleGeometry, type Upscaler } from './upscale.js';

/** Where a batch's masks sit, as plain data (it may cross to a worker thread). */
export interface BatchFrame {
  cropBox: BoxXyxy;
  imageH: number;
  imageW: number;
  geometry: UpscaleGeometry;
  upscale: 'sparse' | 'full';
  /** Whose generator the masks follow: SAM 2's cleans small regions on the low-resolution logits. */
  reference: AmgReference;
  /** Hierarchical sampling's first pass: the covering threshold (see CropFrame). */
  coverAbove?: number;
  /** Encode without filtering (see CropFrame). */
  encodeOnly?: boolean;
}

/**
 * Turns decoder output into filtered, RLE-encoded candidates. The generator
 * hands every batch to one, in order, and may have several in flight.
 */
export interface BatchProcessor {
  process(candidates: Candidates, frame: BatchFrame, settings: AmgSettings): MaskData | Promise<MaskData>;
}

const CACHED_UPSCALERS = 4;

/** Processes batches on the calling thread, reusing an upscaler per crop geometry. */
export class InlineBatchProcessor implements BatchProcessor {
  private readonly upscalers = new Map<string, Upscaler>();

  process(candidates: Candidates, frame: BatchFrame, settings: AmgSettings): MaskData {
    return processBatch(candidates, this.cropFrame(frame), settings);
  }

  /** The batch frame with this processor's upscaler for its geometry. */
  cropFrame(frame: BatchFrame): CropFrame {
    const { cropBox, imageH, imageW, reference, coverAbove, encodeOnly } = frame;
    return { cropBox, imageH, imageW, reference, coverAbove, encodeOnly, upscaler: this.upscalerFor(frame) };
  }

  private upscalerFor(frame: BatchFrame): Upscaler {
    const g = frame.geometry;
    const key = `${frame.upscale} ${g.lowRes} ${g.inputSize} ${g.resizedH} ${g.resizedW} ${g.cropH} ${g.cropW}`;
    let upscaler = this.upscalers.get(key);
    if (!upscaler) {
      // A crop layer has a few sizes only; the oldest goes once more are in use.
      if (this.upscalers.size >= CACHED_UPSCALERS) this.upscalers.delete(this.upscalers.keys().next().value!);
      upscaler = frame.upscale === 'full' ? new FullUpscaler(g) : new SparseUpscaler(g);
      this.upscalers.set(key, upscaler);
    }
    return upscaler;
  }
}

/** MaskData as transferable parts: every typed array's buffer can move without a copy. */
export interface MaskDataParts {
  sizes: [number, number][];
  counts: Uint32Array[];
  boxes: Int32Array;
  iouPreds: Float32Array;
  stability: Float32Array;
  points: Float64Array;
  cropBoxes: Int32Array;
  covered?: Uint8Array;
}

export function toParts(d: MaskData): MaskDataParts {
  return {
    sizes: d.rles.map((r) => r.size), counts: d.rles.map((r) => r.counts),
    boxes: d.boxes, iouPreds: d.iouPreds, stability: d.stability, points: d.points, cropBoxes: d.cropBoxes, covered: d.covered,
  };
}

export function fromParts(p: MaskDataParts): MaskData {
  const data = new MaskData(p.sizes.map((size, k) => ({ size, counts: p.counts[k] })),
    p.boxes as Int32Array<ArrayBuffer>, p.iouPreds as Float32Array<ArrayBuffer>, p.stability as Float32Array<ArrayBuffer>,
    p.points as Float64Array<ArrayBuffer>, p.cropBoxes as Int32Array<ArrayBuffer>);
  if (p.covered) data.covered = p.covered;
  return data;
}

export function transferablesOf(p: MaskDataParts): ArrayBuffer[] {
  return [...p.counts, p.boxes, p.iouPreds, p.stability, p.points, p.cropBoxes, ...(p.covered ? [p.covered] : [])].map((a) => a.buffer as ArrayBuffer);
}
