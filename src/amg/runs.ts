/**
 * Sorted, disjoint, inclusive column runs [from, to], stored as pairs in an
 * Int32Array with a separate pair count: the sparse upscaler's per-row
 * bookkeeping of where values can pass a threshold.
 */

/** Source-to-output index maps of one resize axis (see upscale.ts). */
export interface Reach {
  first: Int32Array;
  last: Int32Array;
}

/** Maximal runs where values[offset + i] > threshold, i < length. Returns the run count. */
export function runsAbove(values: Float32Array, offset: number, length: number, threshold: number, out: Int32Array, at: number): number {
  let n = 0;
  let from = -1;
  for (let i = 0; i < length; i++) {
    if (values[offset + i] > threshold) {
      if (from < 0) from = i;
    } else if (from >= 0) {
      out[at + 2 * n] = from;
      out[at + 2 * n + 1] = i - 1;
      n++;
      from = -1;
    }
  }
  if (from >= 0) {
    out[at + 2 * n] = from;
    out[at + 2 * n + 1] = length - 1;
    n++;
  }
  return n;
}

/** Appends [from, to] to out, merging with the last run when they touch. */
function push(out: Int32Array, n: number, from: number, to: number): number {
  if (from > to) return n;
  if (n > 0 && from <= out[2 * n - 1] + 1) {
    if (to > out[2 * n - 1]) out[2 * n - 1] = to;
    return n;
  }
  out[2 * n] = from;
  out[2 * n + 1] = to;
  return n + 1;
}

/**
 * Outputs reading any source in the union of two run lists: each source run
 * [p, q] becomes [reach.first[p], reach.last[q]]. Returns the run count in out.
 */
export function unionReach(a: Int32Array, aAt: number, na: number, b: Int32Array, bAt: number, nb: number, reach: Reach, out: Int32Array): number {
  let n = 0;
  let i = 0;
  let k = 0;
  while (i < na || k < nb) {
    const takeA = k >= nb || (i < na && a[aAt + 2 * i] <= b[bAt + 2 * k]);
    const from = takeA ? a[aAt + 2 * i] : b[bAt + 2 * k];
    const to = takeA ? a[aAt + 2 * i + 1] : b[bAt + 2 * k + 1];
    if (takeA) i++;
    else k++;
    n = push(out, n, reach.first[from], reach.last[to]);
  }
  return n;
}

/**
 * Outputs reading only sources in the intersection of two run lists: each
 * common run [p, q] becomes [inner.first[p], inner.last[q]]. Returns the run count.
 */
export function intersectionReach(a: Int32Array, aAt: number, na: number, b: Int32Array, bAt: number, nb: number, inner: Reach, out: Int32Array): number {
  let n = 0;
  let i = 0;
  let k = 0;
  while (i < na && k < nb) {
    const from = Math.max(a[aAt + 2 * i], b[bAt + 2 * k]);
    const aTo = a[aAt + 2 * i + 1];
    const bTo = b[bAt + 2 * k + 1];
    const to = Math.min(aTo, bTo);
    if (from <= to) n = push(out, n, inner.first[from], inner.last[to]);
    if (aTo < bTo) i++;
    else k++;
  }
  return n;
}
