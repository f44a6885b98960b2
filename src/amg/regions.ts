import { rleFromColumnMajor, rleToColumnMajor, type Rle } from '../rle/rle.js';

/**
 * Vertical runs of one value in a column-major mask, grouped into
 * 8-connected components by sweeping neighbouring columns. The one
 * component labeller: small-region cleanup here, and the YOLO export's
 * outlines (export/polygons.ts takes each component's first pixel from it).
 */
export interface Components {
  column: Int32Array;
  top: Int32Array;
  bottom: Int32Array;
  /** Component id of each run, 0..count-1. */
  componentOf: Int32Array;
  sizes: number[];
  /**
   * Per component, the earliest 2×2 block (row-pair major) that holds it:
   * OpenCV's block-based labelling numbers components in this order, and the
   * reference breaks size ties by that number.
   */
  firstBlock: number[];
}

function runsOfValue(rle: Rle, value: 0 | 1) {
  const [h] = rle.size;
  const column: number[] = [];
  const top: number[] = [];
  const bottom: number[] = [];
  let pos = 0;
  const { counts } = rle;
  for (let i = 0; i < counts.length; i++) {
    const len = counts[i];
    if ((i & 1) === value && len > 0) {
      let start = pos;
      const end = pos + len;
      while (start < end) {
        const c = Math.floor(start / h);
        const columnEnd = Math.min(end, (c + 1) * h);
        column.push(c);
        top.push(start - c * h);
        bottom.push(columnEnd - 1 - c * h);
        start = columnEnd;
      }
    }
    pos += len;
  }
  return { column: Int32Array.from(column), top: Int32Array.from(top), bottom: Int32Array.from(bottom) };
}

export function connectedComponents(rle: Rle, value: 0 | 1): Components {
  const { column, top, bottom } = runsOfValue(rle, value);
  const n = column.length;
  const parent = new Int32Array(n);
  for (let i = 0; i < n; i++) parent[i] = i;
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]];
      i = parent[i];
    }
    return i;
  };
  // Runs are sorted by column, then row; sweep each pair of neighbouring columns.
  let a = 0;
  while (a < n) {
    const c = column[a];
    let aEnd = a;
    while (aEnd < n && column[aEnd] === c) aEnd++;
    let b = aEnd;
    let bEnd = b;
    while (bEnd < n && column[bEnd] === c + 1) bEnd++;
    let i = a;
    let j = b;
    while (i < aEnd && j < bEnd) {
      if (top[i] <= bottom[j] + 1 && top[j] <= bottom[i] + 1) {
        const ri = find(i);
        const rj = find(j);
        if (ri !== rj) parent[Math.max(ri, rj)] = Math.min(ri, rj);
      }
      if (bottom[i] < bottom[j]) i++;
      else j++;
    }
    a = aEnd;
  }
  const idOfRoot = new Map<number, number>();
  const componentOf = new Int32Array(n);
  const sizes: number[] = [];
  const firstBlock: number[] = [];
  const width = rle.size[1];
  for (let r = 0; r < n; r++) {
    const root = find(r);
    let id = idOfRoot.get(root);
    if (id === undefined) {
      id = sizes.length;
      idOfRoot.set(root, id);
      sizes.push(0);
      firstBlock.push(Infinity);
    }
    componentOf[r] = id;
    sizes[id] += bottom[r] - top[r] + 1;
    const block = Math.floor(top[r] / 2) * width + Math.floor(column[r] / 2);
    if (block < firstBlock[id]) firstBlock[id] = block;
  }
  return { column, top, bottom, componentOf, sizes, firstBlock };
}

/**
 * The reference's `remove_small_regions` in one mode: "holes" fills
 * background components smaller than `minArea`; "islands" removes foreground
 * components smaller than it, keeping the largest if all are.
 */
export function removeSmallRegions(
  rle: Rle,
  minArea: number,
  mode: 'holes' | 'islands',
): { rle: Rle; changed: boolean } {
  const value = mode === 'holes' ? 0 : 1;
  const comps = connectedComponents(rle, value);
  const small = comps.sizes.map((s) => s < minArea);
  if (!small.some(Boolean)) return { rle, changed: false };
  let flip = small;
  if (mode === 'islands' && small.every(Boolean)) {
    let best = 0;
    for (let k = 1; k < comps.sizes.length; k++) {
      const better = comps.sizes[k] > comps.sizes[best] ||
        (comps.sizes[k] === comps.sizes[best] && comps.firstBlock[k] < comps.firstBlock[best]);
      if (better) best = k;
    }
    flip = small.map((_, k) => k !== best);
  }
  const [h] = rle.size;
  const mask = rleToColumnMajor(rle);
  const fillWith = mode === 'holes' ? 1 : 0;
  for (let r = 0; r < comps.column.length; r++) {
    if (!flip[comps.componentOf[r]]) continue;
    const base = comps.column[r] * h;
    mask.fill(fillWith, base + comps.top[r], base + comps.bottom[r] + 1);
  }
  return { rle: rleFromColumnMajor(mask, rle.size[0], rle.size[1]), changed: true };
}
