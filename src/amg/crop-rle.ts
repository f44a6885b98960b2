import type { Rle } from '../rle/rle.js';

/** A rectangle of a row-major logit plane: `rows` × `cols` starting at `offset`, rows `stride` apart. */
export interface PlaneWindow {
  logits: Float32Array;
  offset: number;
  stride: number;
  rows: number;
  cols: number;
}

/**
 * RLE of `logits > threshold` over a window whose top-left pixel sits at
 * (x0, y0) of an imageH × imageW frame that is background everywhere else,
 * without materialising the full-size mask (the reference's `uncrop_masks`
 * then `mask_to_rle_pytorch`).
 */
export function windowToImageRle(
  win: PlaneWindow,
  x0: number,
  y0: number,
  imageH: number,
  imageW: number,
  threshold: number,
): Rle {
  const { logits, offset, stride, rows, cols } = win;
  const total = imageH * imageW;
  const runs: number[] = [];
  let current = 0;
  let runStart = 0;
  for (let x = 0; x < cols; x++) {
    const columnStart = (x0 + x) * imageH + y0;
    let p = offset + x;
    for (let y = 0; y < rows; y++, p += stride) {
      const v = logits[p] > threshold ? 1 : 0;
      if (v !== current) {
        const at = columnStart + y;
        runs.push(at - runStart);
        runStart = at;
        current = v;
      }
    }
    // Rows outside the window are background between this column and the next.
    const gapStart = columnStart + rows;
    if (current === 1 && rows < imageH && gapStart < total) {
      runs.push(gapStart - runStart);
      runStart = gapStart;
      current = 0;
    }
  }
  runs.push(total - runStart);
  return { size: [imageH, imageW], counts: Uint32Array.from(runs) };
}
