import { rleFromColumnMajor } from '../rle/rle.js';
import { MASK_THRESHOLD } from './mask-ops.js';
import { connectedComponents } from './regions.js';

/** What SAM 2 writes into a filled hole and a removed sprinkle: the threshold ± 10. */
export const FILLED_LOGIT = MASK_THRESHOLD + 10;
export const REMOVED_LOGIT = MASK_THRESHOLD - 10;

/**
 * SAM 2's `SAM2Transforms.postprocess_masks` before upsampling, on one
 * size × size plane of logits at `offset`, in place: background components
 * (logit ≤ threshold) of at most `maxArea` low-resolution pixels become
 * foreground, foreground components (logit > threshold) of at most
 * `maxArea` become background. Both kinds are found on the logits as given
 * (the reference labels the sprinkles on the unfilled mask too),
 * 8-connected, and a component touching the border counts like any other.
 * Returns whether anything changed.
 */
export function cleanLowResRegions(logits: Float32Array, offset: number, size: number, maxArea: number): boolean {
  const plane = size * size;
  const above = new Uint8Array(plane);
  for (let k = 0; k < plane; k++) above[k] = logits[offset + k] > MASK_THRESHOLD ? 1 : 0;
  // Rows read as columns: the transpose has the same 8-connected components.
  const rle = rleFromColumnMajor(above, size, size);
  let changed = false;
  for (const [value, fill] of [[0, FILLED_LOGIT], [1, REMOVED_LOGIT]] as const) {
    const comps = connectedComponents(rle, value);
    for (let r = 0; r < comps.column.length; r++) {
      if (comps.sizes[comps.componentOf[r]] > maxArea) continue;
      const start = offset + comps.column[r] * size;
      logits.fill(fill, start + comps.top[r], start + comps.bottom[r] + 1);
      changed = true;
    }
  }
  return changed;
}
