/**
 * Uncompressed COCO RLE: counts of alternating 0-runs and 1-runs over the
 * mask in column-major (Fortran) order, always starting with a 0-run.
 */
export interface Rle {
  /** [height, width] */
  size: [number, number];
  counts: Uint32Array;
}

/** Encodes a column-major 0/1 mask of h×w pixels. */
export function rleFromColumnMajor(mask: Uint8Array, h: number, w: number): Rle {
  const n = h * w;
  const runs: number[] = [];
  let current = 0;
  let start = 0;
  for (let i = 0; i < n; i++) {
    const v = mask[i] !== 0 ? 1 : 0;
    if (v !== current) {
      runs.push(i - start);
      start = i;
      current = v;
    }
  }
  runs.push(n - start);
  return { size: [h, w], counts: Uint32Array.from(runs) };
}

/** Encodes a row-major 0/1 mask (the layout images use) of h×w pixels. */
export function rleFromRowMajor(mask: Uint8Array, h: number, w: number): Rle {
  return rleFromColumnMajor(transposeToColumnMajor(mask, h, w), h, w);
}

/** Decodes to a column-major 0/1 mask. */
export function rleToColumnMajor(rle: Rle): Uint8Array {
  const [h, w] = rle.size;
  const out = new Uint8Array(h * w);
  let pos = 0;
  const { counts } = rle;
  for (let i = 0; i < counts.length; i++) {
    const end = pos + counts[i];
    if (i & 1) out.fill(1, pos, end);
    pos = end;
  }
  if (pos !== h * w) {
    throw new Error(`RLE counts sum to ${pos} but size ${h}x${w} needs ${h * w}`);
  }
  return out;
}

/** Decodes to a row-major 0/1 mask. */
export function rleToRowMajor(rle: Rle): Uint8Array {
  const [h, w] = rle.size;
  const col = rleToColumnMajor(rle);
  const out = new Uint8Array(h * w);
  for (let x = 0; x < w; x++) {
    const base = x * h;
    for (let y = 0; y < h; y++) out[y * w + x] = col[base + y];
  }
  return out;
}

export function rleArea(rle: Rle): number {
  let area = 0;
  for (let i = 1; i < rle.counts.length; i += 2) area += rle.counts[i];
  return area;
}

/**
 * Inclusive XYXY box of the foreground ([0,0,0,0] when empty), the
 * reference's `batched_mask_to_box` convention.
 */
export function rleBoxXyxy(rle: Rle): [number, number, number, number] {
  const h = rle.size[0];
  let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
  let pos = 0;
  const { counts } = rle;
  for (let i = 0; i < counts.length; i++) {
    const len = counts[i];
    if (i & 1 && len > 0) {
      const first = pos;
      const last = pos + len - 1;
      const cFirst = Math.floor(first / h);
      const cLast = Math.floor(last / h);
      if (cFirst < x0) x0 = cFirst;
      if (cLast > x1) x1 = cLast;
      if (cLast > cFirst) {
        // The run wraps over at least one column boundary, so it covers the
        // bottom of its first column and the top of its last.
        y0 = 0;
        y1 = h - 1;
      } else {
        const rFirst = first - cFirst * h;
        const rLast = last - cFirst * h;
        if (rFirst < y0) y0 = rFirst;
        if (rLast > y1) y1 = rLast;
      }
    }
    pos += len;
  }
  if (x1 < 0) return [0, 0, 0, 0];
  return [x0, y0, x1, y1];
}

export function transposeToColumnMajor(mask: Uint8Array, h: number, w: number): Uint8Array {
  const out = new Uint8Array(h * w);
  for (let y = 0; y < h; y++) {
    const base = y * w;
    for (let x = 0; x < w; x++) out[x * h + y] = mask[base + x];
  }
  return out;
}
