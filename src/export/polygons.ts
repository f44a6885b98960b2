import { decodeCountsString } from '../rle/coco-string.js';

/**
 * A mask's outline as one polygon, for formats that hold polygons (YOLO
 * segmentation). Vertices lie on pixel corners (COCO's continuous
 * coordinates: pixel (x, y) covers [x, x + 1] × [y, y + 1]), so the polygon's
 * inside is exactly the mask's pixels: filling it by pixel centres gives the
 * mask back, holes filled. Pure: typed arrays in and out.
 */

/** A closed ring of vertices, x0 y0 x1 y1 …, the last joined back to the first. */
export type Ring = number[];

interface BoxMask {
  x0: number;
  y0: number;
  width: number;
  height: number;
  /** Row-major 0/1 inside the box. */
  data: Uint8Array;
}

/** The mask's pixels inside its bounding box, from a COCO RLE (column-major runs); undefined when empty. */
export function maskInBox(segmentation: { size: [number, number]; counts: string }): BoxMask | undefined {
  const [h] = segmentation.size;
  const counts = decodeCountsString(segmentation.counts);
  let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
  for (let i = 1, pos = counts[0]; i < counts.length; i += 2) {
    const len = counts[i];
    if (len > 0) {
      const first = pos;
      const last = pos + len - 1;
      const c0 = Math.floor(first / h);
      const c1 = Math.floor(last / h);
      x0 = Math.min(x0, c0);
      x1 = Math.max(x1, c1);
      // A run over several columns covers every row of the columns between.
      y0 = Math.min(y0, c1 > c0 ? 0 : first % h);
      y1 = Math.max(y1, c1 > c0 ? h - 1 : last % h);
    }
    pos += len + (counts[i + 1] ?? 0);
  }
  if (x1 < 0) return undefined;
  const width = x1 - x0 + 1;
  const height = y1 - y0 + 1;
  const data = new Uint8Array(width * height);
  for (let i = 1, pos = counts[0]; i < counts.length; i += 2) {
    for (let p = pos, end = pos + counts[i]; p < end; p++) {
      const x = Math.floor(p / h) - x0;
      const y = (p % h) - y0;
      if (y >= 0 && y < height) data[y * width + x] = 1;
    }
    pos += counts[i] + (counts[i + 1] ?? 0);
  }
  return { x0, y0, width, height, data };
}

// Directions, clockwise on screen (y down): east, south, west, north.
const DX = [1, 0, -1, 0];
const DY = [0, 1, 0, -1];

/**
 * The background reachable from outside the box through 4-connected
 * background pixels (the dual of 8-connected foreground): everything else is
 * the mask with its holes filled.
 */
function exteriorOf(data: Uint8Array, width: number, height: number): Uint8Array {
  const outside = new Uint8Array(width * height);
  const stack = new Int32Array(width * height);
  let top = 0;
  const push = (p: number) => {
    if (!data[p] && !outside[p]) {
      outside[p] = 1;
      stack[top++] = p;
    }
  };
  for (let x = 0; x < width; x++) {
    push(x);
    push((height - 1) * width + x);
  }
  for (let y = 0; y < height; y++) {
    push(y * width);
    push(y * width + width - 1);
  }
  while (top > 0) {
    const p = stack[--top];
    const x = p % width;
    if (x > 0) push(p - 1);
    if (x < width - 1) push(p + 1);
    if (p >= width) push(p - width);
    if (p + width < data.length) push(p + width);
  }
  return outside;
}

/** Each pixel's 8-connected component (1, 2, … in the raster order of their first pixels; 0 outside the mask), and each component's first pixel. */
export interface Labels {
  label: Int32Array;
  first: number[];
}

/**
 * Labels the components from the mask's row runs: a run joins every run of
 * the row above that it touches, diagonally included, through union-find,
 * and the labels are filled run by run. The reference is labelsByFlood.
 */
export function labelComponents(data: Uint8Array, width: number, height: number): Labels {
  const starts: number[] = [];
  const ends: number[] = [];
  const parent: number[] = [];
  const find = (r: number): number => {
    while (parent[r] !== r) r = parent[r] = parent[parent[r]];
    return r;
  };
  let above = 0;
  let aboveEnd = 0;
  for (let y = 0; y < height; y++) {
    const rowStart = starts.length;
    const row = y * width;
    for (let x = 0; x < width;) {
      if (!data[row + x]) {
        x++;
        continue;
      }
      const start = x;
      while (x < width && data[row + x]) x++;
      const r = starts.length;
      starts.push(row + start);
      ends.push(row + x);
      parent.push(r);
      // Runs of the row above that overlap [start - 1, x] (8-connectivity), found by a sweep.
      while (above < aboveEnd && ends[above] - (row - width) < start) above++;
      for (let k = above; k < aboveEnd && starts[k] - (row - width) <= x; k++) {
        const a = find(k);
        const b = find(r);
        if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
      }
    }
    above = rowStart;
    aboveEnd = starts.length;
  }
  const label = new Int32Array(width * height);
  const idOf = new Map<number, number>();
  const first: number[] = [];
  for (let r = 0; r < starts.length; r++) {
    const root = find(r);
    let id = idOf.get(root);
    if (id === undefined) {
      id = first.length + 1;
      idOf.set(root, id);
      first.push(starts[r]);
    }
    label.fill(id, starts[r], ends[r]);
  }
  return { label, first };
}

/** The same labels by flooding each component from its first pixel, pixel by pixel: the reference for labelComponents. */
export function labelsByFlood(data: Uint8Array, width: number, height: number): Labels {
  const label = new Int32Array(width * height);
  const stack = new Int32Array(width * height);
  const first: number[] = [];
  for (let start = 0; start < data.length; start++) {
    if (!data[start] || label[start]) continue;
    const id = first.length + 1;
    first.push(start);
    let top = 0;
    stack[top++] = start;
    label[start] = id;
    while (top > 0) {
      const p = stack[--top];
      const px = p % width;
      const py = (p - px) / width;
      for (let dy = -1; dy <= 1; dy++) {
        const y = py + dy;
        if (y < 0 || y >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const x = px + dx;
          if (x < 0 || x >= width) continue;
          const q = y * width + x;
          if (data[q] && !label[q]) {
            label[q] = id;
            stack[top++] = q;
          }
        }
      }
    }
  }
  return { label, first };
}

/**
 * The outer boundary of each 8-connected component of a row-major 0/1
 * mask, as rings of pixel-corner vertices with the component on the right
 * of travel (clockwise on screen), collinear vertices dropped. Components come
 * in the raster order of their first pixel. Holes have no ring, and neither
 * has a component inside another's hole (the outer ring already encloses it),
 * so the rings never nest: even-odd and non-zero fills agree.
 */
export function outerRings(data: Uint8Array, width: number, height: number, labels = labelComponents(data, width, height)): Ring[] {
  const outside = exteriorOf(data, width, height);
  const rings: Ring[] = [];
  labels.first.forEach((start, k) => {
    // The pixel above a component's first pixel is outside unless the component sits in a hole.
    if (start >= width && !outside[start - width]) return;
    rings.push(traceRing(labels.label, width, height, k + 1, start % width, Math.floor(start / width)));
  });
  return rings;
}

/**
 * Follows the cracks between the component's pixels and the rest from the
 * top-left corner of its first pixel, eastwards along its top edge. At each
 * corner it turns left when the pixel ahead-left belongs to the component
 * (so diagonal neighbours stay joined: 8-connectivity), goes straight when
 * only the pixel ahead-right does, and turns right otherwise.
 */
function traceRing(label: Int32Array, width: number, height: number, id: number, sx: number, sy: number): Ring {
  const inside = (x: number, y: number) => x >= 0 && y >= 0 && x < width && y < height && label[y * width + x] === id;
  const ring: Ring = [];
  let x = sx, y = sy, d = 0;
  do {
    const nx = x + DX[d];
    const ny = y + DY[d];
    // The two pixels ahead of corner (nx, ny) when moving in direction d: ahead-left and ahead-right.
    let aheadLeft: boolean, aheadRight: boolean;
    switch (d) {
      case 0: aheadLeft = inside(nx, ny - 1); aheadRight = inside(nx, ny); break;
      case 1: aheadLeft = inside(nx, ny); aheadRight = inside(nx - 1, ny); break;
      case 2: aheadLeft = inside(nx - 1, ny); aheadRight = inside(nx - 1, ny - 1); break;
      default: aheadLeft = inside(nx - 1, ny - 1); aheadRight = inside(nx, ny - 1); break;
    }
    const turn = aheadLeft ? 3 : aheadRight ? 0 : 1;
    x = nx;
    y = ny;
    if (turn !== 0) ring.push(x, y);
    d = (d + turn) % 4;
  } while (x !== sx || y !== sy || d !== 0);
  // The start corner closes the ring: it was pushed last, as the turn from north to east.
  ring.unshift(...ring.splice(ring.length - 2, 2));
  return ring;
}

/** Squared distance from (px, py) to the segment (ax, ay)–(bx, by). */
function segmentDistance2(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len2));
  const ex = ax + t * dx - px;
  const ey = ay + t * dy - py;
  return ex * ex + ey * ey;
}

/** Douglas–Peucker on the open chain of vertices first..last (indices), marking those kept. */
function keepChain(ring: Ring, first: number, last: number, tolerance2: number, keep: Uint8Array): void {
  const n = ring.length / 2;
  const stack = [first, last];
  while (stack.length > 0) {
    const b = stack.pop()!;
    const a = stack.pop()!;
    let far = -1;
    let farDist = tolerance2;
    for (let k = (a + 1) % n; k !== b; k = (k + 1) % n) {
      const dist = segmentDistance2(ring[2 * k], ring[2 * k + 1], ring[2 * a], ring[2 * a + 1], ring[2 * b], ring[2 * b + 1]);
      if (dist > farDist) {
        far = k;
        farDist = dist;
      }
    }
    if (far >= 0) {
      keep[far] = 1;
      stack.push(a, far, far, b);
    }
  }
}

/**
 * The ring simplified by Douglas–Peucker with `tolerance` pixels: split at
 * its first vertex and the vertex farthest from it, each half simplified on
 * its own. A ring that would fall below three vertices is kept as it is.
 */
export function simplifyRing(ring: Ring, tolerance: number): Ring {
  const n = ring.length / 2;
  if (n <= 3 || tolerance <= 0) return ring;
  let far = 0;
  let farDist = -1;
  for (let k = 1; k < n; k++) {
    const dist = (ring[2 * k] - ring[0]) ** 2 + (ring[2 * k + 1] - ring[1]) ** 2;
    if (dist > farDist) {
      far = k;
      farDist = dist;
    }
  }
  const keep = new Uint8Array(n);
  keep[0] = 1;
  keep[far] = 1;
  keepChain(ring, 0, far, tolerance * tolerance, keep);
  keepChain(ring, far, 0, tolerance * tolerance, keep);
  const out: Ring = [];
  for (let k = 0; k < n; k++) if (keep[k]) out.push(ring[2 * k], ring[2 * k + 1]);
  return out.length >= 6 ? out : ring;
}

/** The pair of vertices, one of each ring, closest to each other (indices), the first pair found on ties. */
function closestVertices(a: Ring, b: Ring): [number, number] {
  let best = Infinity;
  let pair: [number, number] = [0, 0];
  for (let i = 0; i < a.length; i += 2) {
    for (let j = 0; j < b.length; j += 2) {
      const dist = (a[i] - b[j]) ** 2 + (a[i + 1] - b[j + 1]) ** 2;
      if (dist < best) {
        best = dist;
        pair = [i / 2, j / 2];
      }
    }
  }
  return pair;
}

/**
 * Several rings as one, the way Ultralytics' `merge_multi_segment` joins a
 * COCO object's polygons: each ring is tied to the next at their closest
 * vertices by a bridge walked there and back, so the bridges enclose no
 * area. The walk goes forward through the rings to the last, all around it,
 * and back through the others.
 */
export function joinRings(rings: Ring[]): Ring {
  if (rings.length <= 1) return rings[0] ?? [];
  const n = rings.length;
  // entry[i]: where the walk enters ring i; exit[i]: where it leaves for ring i + 1.
  const entry = new Array<number>(n).fill(0);
  const exit = new Array<number>(n).fill(0);
  for (let i = 0; i + 1 < n; i++) [exit[i], entry[i + 1]] = closestVertices(rings[i], rings[i + 1]);
  const vertex = (i: number, k: number) => {
    const m = rings[i].length / 2;
    const at = ((k % m) + m) % m;
    return [rings[i][2 * at], rings[i][2 * at + 1]];
  };
  const out: Ring = [];
  const along = (i: number, from: number, steps: number) => {
    for (let s = 0; s <= steps; s++) out.push(...vertex(i, from + s));
  };
  const size = (i: number) => rings[i].length / 2;
  const forward = (i: number) => ((exit[i] - entry[i]) % size(i) + size(i)) % size(i);
  for (let i = 0; i + 1 < n; i++) along(i, entry[i], forward(i));
  along(n - 1, entry[n - 1], size(n - 1));
  for (let i = n - 2; i >= 0; i--) along(i, exit[i], size(i) - forward(i) - (i === 0 ? 1 : 0));
  return out;
}

/**
 * A mask's polygon in image pixels: the outer boundary of each component,
 * simplified when `simplify` > 0, joined into one ring. Empty for an empty mask.
 */
export function maskPolygon(segmentation: { size: [number, number]; counts: string }, simplify = 0): Ring {
  const box = maskInBox(segmentation);
  if (!box) return [];
  const rings = outerRings(box.data, box.width, box.height).map((r) => simplifyRing(r, simplify));
  const ring = joinRings(rings);
  for (let i = 0; i < ring.length; i += 2) {
    ring[i] += box.x0;
    ring[i + 1] += box.y0;
  }
  return ring;
}
