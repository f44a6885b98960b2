import type { AmgReference, AmgSettings } from '../settings/settings.js';
import { windowToImageRle } from './crop-rle.js';
import type { BoxXyxy } from './geometry.js';
import { MaskData } from './mask-data.js';
import { cleanLowResRegions } from './low-res-cleanup.js';
import { coverAbove, isNearCropEdge, MASK_THRESHOLD, stabilityScore, thresholdedBox } from './mask-ops.js';
import type { Upscaler } from './upscale.js';

/** Where a batch's masks sit: the crop, the image it is cut from, the upscaler for its size. */
export interface CropFrame {
  cropBox: BoxXyxy;
  imageH: number;
  imageW: number;
  upscaler: Upscaler;
  /** Default 'sam'. With 'sam2' and a minimum region area, small regions are cleaned on the low-resolution logits first. */
  reference?: AmgReference;
  /** Hierarchical sampling's first pass: also map the crop pixels where a kept mask's logit is above this (MaskData.covered). */
  coverAbove?: number;
  /** The candidates passed the filters already (the filter graph) and NMS: upscale and encode them all. */
  encodeOnly?: boolean;
}

/** Decoder output for one batch: `count` candidates, in prompt order then token order. */
export interface Candidates {
  count: number;
  /** count × lowRes × lowRes logits. */
  lowRes: Float32Array;
  iouPreds: Float32Array;
  /** count × 2, the prompt point of each candidate in crop pixels. */
  points: Float64Array;
}

/**
 * The reference's `_process_batch` after the decoder: predicted-IoU filter,
 * stability filter, binarise, inclusive box, crop-edge filter, RLE in the
 * image frame. Boxes and points stay in crop coordinates. When the frame
 * asks, the kept masks' pixels above `coverAbove` are mapped too
 * (hierarchical sampling's first pass). For SAM 2, the
 * predictor's hole and sprinkle cleanup of each candidate's low-resolution
 * logits comes first (it edits `c.lowRes` in place).
 */
export function processBatch(c: Candidates, frame: CropFrame, s: AmgSettings): MaskData {
  const { cropBox, imageH, imageW, upscaler } = frame;
  const { cropW, lowRes } = upscaler.geometry;
  const plane = lowRes * lowRes;
  const cleanLowRes = frame.reference === 'sam2' && s.minMaskRegionArea > 0;
  // Only pixels between the lowest and the highest threshold in use need exact values.
  const floor = MASK_THRESHOLD - s.stabilityScoreOffset;
  const ceiling = MASK_THRESHOLD + s.stabilityScoreOffset;
  const imageBox = [0, 0, imageW, imageH];
  const kept: number[] = [];
  const out = new MaskData();
  const boxes: number[] = [];
  const stabilities: number[] = [];
  for (let i = 0; i < c.count; i++) {
    const filter = !frame.encodeOnly;
    if (filter && s.predIouThresh > 0 && !(c.iouPreds[i] > s.predIouThresh)) continue;
    // SAM 2 cleans every candidate before its filters; a candidate the IoU filter drops is never read, so it is skipped.
    if (cleanLowRes) cleanLowResRegions(c.lowRes, i * plane, lowRes, s.minMaskRegionArea);
    const mask = upscaler.upscale(c.lowRes, i * plane, floor, ceiling);
    // The upscaler counted the pixels above both stability thresholds (its floor and ceiling).
    const stability = stabilityScore(mask.aboveCeiling, mask.aboveFloor);
    if (filter && s.stabilityScoreThresh > 0 && !(stability >= s.stabilityScoreThresh)) continue;
    const box = thresholdedBox(mask, cropW, MASK_THRESHOLD);
    const inImage = [box[0] + cropBox[0], box[1] + cropBox[1], box[2] + cropBox[0], box[3] + cropBox[1]];
    if (filter && isNearCropEdge(inImage, cropBox, imageBox)) continue;
    kept.push(i);
    boxes.push(...box);
    stabilities.push(stability);
    // Everything outside the box is background, so only the box is scanned.
    const [bx0, by0, bx1, by1] = box;
    const window = { logits: mask.logits, offset: by0 * cropW + bx0, stride: cropW, rows: by1 - by0 + 1, cols: bx1 - bx0 + 1 };
    out.rles.push(windowToImageRle(window, cropBox[0] + bx0, cropBox[1] + by0, imageH, imageW, MASK_THRESHOLD));
    if (frame.coverAbove !== undefined) {
      // Upscaled again with the covering threshold as floor and ceiling: exact values only where a pixel may pass it or not.
      out.covered ??= new Uint8Array(cropW * upscaler.geometry.cropH);
      coverAbove(upscaler.upscale(c.lowRes, i * plane, frame.coverAbove, frame.coverAbove), cropW, frame.coverAbove, out.covered);
    }
  }
  out.boxes = Int32Array.from(boxes);
  out.stability = Float32Array.from(stabilities);
  out.iouPreds = Float32Array.from(kept, (i) => c.iouPreds[i]);
  out.points = new Float64Array(kept.length * 2);
  kept.forEach((i, k) => {
    out.points[2 * k] = c.points[2 * i];
    out.points[2 * k + 1] = c.points[2 * i + 1];
  });
  out.cropBoxes = new Int32Array(kept.length * 4);
  for (let k = 0; k < kept.length; k++) out.cropBoxes.set(cropBox, 4 * k);
  return out;
}
