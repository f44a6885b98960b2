/**
 * TinySAM's hierarchical sampling (`SamHierarchicalMaskGenerator.hierarchical_generate`,
 * tinysam/hierarchical_mask_generator.py): a first pass on a quarter-density
 * grid marks as covered every pixel where a kept mask's logit exceeds
 * `high_score_thresh`; the second pass prompts the full-density neighbours
 * of each first-pass point only where they are not covered. Its quirks are
 * kept as the contract (see docs/settings.md). Pure: typed arrays in and out.
 */

/** The first pass's points per side: TinySAM's `points_per_side // 4`. */
export function firstPassSide(pointsPerSide: number): number {
  return Math.floor(pointsPerSide / 4);
}

/**
 * The covered map's value at (x, y) as TinySAM reads it:
 * `or_results[int(x), int(y)]` on the transposed map, so `int()` truncates
 * toward zero and a negative index counts from the end, as Python's does. An
 * index past the end (TinySAM would raise) reads as not covered.
 */
function coveredAt(covered: Uint8Array, width: number, height: number, x: number, y: number): boolean {
  let ix = Math.trunc(x);
  let iy = Math.trunc(y);
  if (ix < 0) ix += width;
  if (iy < 0) iy += height;
  if (ix < 0 || iy < 0 || ix >= width || iy >= height) return false;
  return covered[iy * width + ix] !== 0;
}

/**
 * The second pass's points, normalised to the crop as TinySAM sets them as
 * its next point grid: for each first-pass point (grid order) at
 * (px, py) = (gx·w, gy·h), with strides ws = w // pointsPerSide and
 * hs = h // pointsPerSide, the eight neighbours (px + ws·a, py + hs·b) for
 * a, b in −1, 0, 1 (a outer), then (px + 2ws, py + hs·b) when px + 2ws < w,
 * (px + ws·a, py + 2hs) when py + 2hs < h, and (px + 2ws, py + 2hs) when
 * both; each one only where the covered map (row-major, w × h) is 0 at it.
 */
export function secondPassPoints(firstPass: Float64Array, width: number, height: number, pointsPerSide: number, covered: Uint8Array): Float64Array {
  const hs = Math.floor(height / pointsPerSide);
  const ws = Math.floor(width / pointsPerSide);
  const out: number[] = [];
  const offer = (x: number, y: number) => {
    if (!coveredAt(covered, width, height, x, y)) out.push(x / width, y / height);
  };
  for (let k = 0; k < firstPass.length; k += 2) {
    const px = firstPass[k] * width;
    const py = firstPass[k + 1] * height;
    for (const a of [-1, 0, 1]) {
      for (const b of [-1, 0, 1]) if (a !== 0 || b !== 0) offer(px + ws * a, py + hs * b);
    }
    const right = px + ws * 2 < width;
    const below = py + hs * 2 < height;
    if (right) for (const b of [-1, 0, 1]) offer(px + ws * 2, py + hs * b);
    if (below) for (const a of [-1, 0, 1]) offer(px + ws * a, py + hs * 2);
    if (right && below) offer(px + ws * 2, py + hs * 2);
  }
  return Float64Array.from(out);
}

/** ORs `b` into `a` (the covered maps of a pass's batches). */
export function orInto(a: Uint8Array, b: Uint8Array): void {
  for (let i = 0; i < a.length; i++) a[i] |= b[i];
}
