import type { BoxXyxy } from './geometry.js';

/** Mask logits are binarised at 0, as SAM's `mask_threshold`. */
export const MASK_THRESHOLD = 0;

/**
 * An upscaled mask: crop-sized logits, row-major. Only columns
 * [rowStart[y], rowEnd[y]) of each row hold values; every other pixel is
 * -Infinity and is known to pass no threshold at or above the upscaler's floor.
 * A value may be +Infinity where the exact one is known to exceed the ceiling.
 */
export interface UpscaledMask {
  logits: Float32Array;
  rowStart: Int32Array;
  rowEnd: Int32Array;
  /** Pixels whose exact value exceeds the floor, and the ceiling (the stability score's two counts). */
  aboveFloor: number;
  aboveCeiling: number;
}

/** Pixels above `threshold` in the computed spans (pixels outside them pass no threshold). */
export function countAbove(mask: UpscaledMask, width: number, threshold: number): number {
  const { logits, rowStart, rowEnd } = mask;
  let n = 0;
  for (let y = 0; y < rowStart.length; y++) {
    const end = y * width + rowEnd[y];
    for (let i = y * width + rowStart[y]; i < end; i++) if (logits[i] > threshold) n++;
  }
  return n;
}

/** Marks in `covered` (row-major, the crop's size) the pixels of the computed spans whose logit is above `threshold`. */
export function coverAbove(mask: UpscaledMask, width: number, threshold: number, covered: Uint8Array): void {
  const { logits, rowStart, rowEnd } = mask;
  for (let y = 0; y < rowStart.length; y++) {
    const end = y * width + rowEnd[y];
    for (let i = y * width + rowStart[y]; i < end; i++) if (logits[i] > threshold) covered[i] = 1;
  }
}

/**
 * The reference's stability score from count(logit > t + offset) and
 * count(logit > t - offset): their ratio, divided in float32; 0/0 is NaN,
 * which every filter rejects.
 */
export function stabilityScore(intersections: number, unions: number): number {
  return Math.fround(intersections / unions);
}

/**
 * Inclusive XYXY box of `logit > threshold`; [0, 0, 0, 0] when nothing
 * passes (the reference's `batched_mask_to_box`).
 */
export function thresholdedBox(mask: UpscaledMask, width: number, threshold: number): BoxXyxy {
  const { logits, rowStart, rowEnd } = mask;
  let x0 = width, y0 = -1, x1 = -1, y1 = -1;
  for (let y = 0; y < rowStart.length; y++) {
    const row = y * width;
    // Only a row's first and last passing pixel matter: scan in from both ends, not across the inside.
    let first = rowStart[y];
    while (first < rowEnd[y] && !(logits[row + first] > threshold)) first++;
    if (first < rowEnd[y]) {
      let last = rowEnd[y] - 1;
      while (!(logits[row + last] > threshold)) last--;
      if (y0 < 0) y0 = y;
      y1 = y;
      if (first < x0) x0 = first;
      if (last > x1) x1 = last;
    }
  }
  if (x1 < 0) return [0, 0, 0, 0];
  return [x0, y0, x1, y1];
}

/** The reference's `is_box_near_crop_edge` tolerance, in pixels. */
export const EDGE_TOLERANCE = 20;

/**
 * The reference's `is_box_near_crop_edge` for a box already in image
 * coordinates: true when a side lies within `tolerance` of a crop side that
 * is not also an image side.
 */
export function isNearCropEdge(
  box: ArrayLike<number>,
  cropBox: ArrayLike<number>,
  imageBox: ArrayLike<number>,
  tolerance = EDGE_TOLERANCE,
): boolean {
  for (let k = 0; k < 4; k++) {
    const nearCrop = Math.abs(box[k] - cropBox[k]) <= tolerance;
    const nearImage = Math.abs(box[k] - imageBox[k]) <= tolerance;
    if (nearCrop && !nearImage) return true;
  }
  return false;
}
