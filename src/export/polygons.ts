import { connectedComponents } from '../amg/regions.js';
import { decodeCountsString } from '../rle/coco-string.js';
import { rleBoxXyxy, rleFromRowMajor, type Rle } from '../rle/rle.js';

/**
 * A mask's outline as one polygon, for formats that hold polygons (YOLO
 * segmentation), in the convention of OpenCV's `findContours` (what
 * Ultralytics' own converters call, `RETR_EXTERNAL`, `CHAIN_APPROX_SIMPLE`):
 * the vertices are the integer indices of the boundary pixels, so a vertex
 * (x, y) is the centre of pixel (x, y), and the polygon runs through the
 * centres of the component's boundary pixels. `cv2.fillPoly`, which
 * Ultralytics' `polygon2mask` calls on the integer vertices, fills the
 * pixels on the polygon's edges as well as inside it, so it gives the mask
 * back, holes filled. Pure: typed arrays in and out.
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

/**
 * The mask's pixels inside its bounding box (rleBoxXyxy's, the box every
 * RLE reader shares), from a COCO RLE (column-major runs); undefined when empty.
 */
export function maskInBox(rle: Rle): BoxMask | undefined {
  const { counts } = rle;
  let empty = true;
  for (let i = 1; i < counts.length && empty; i += 2) empty = counts[i] === 0;
  if (empty) return undefined;
  const [h] = rle.size;
  const [x0, y0, x1, y1] = rleBoxXyxy(rle);
  const width = x1 - x0 + 1;
  const height = y1 - y0 + 1;
  const data = new Uint8Array(width * height);
  for (let i = 1, pos = counts[0]; i < counts.length; i += 2) {
    const end = pos + counts[i];
    // A run may cross columns: each column's part is one vertical stroke.
    for (let p = pos; p < end;) {
      const c = Math.floor(p / h);
      const columnEnd = Math.min(end, (c + 1) * h);
      const x = c - x0;
      for (let y = p - c * h - y0, yEnd = columnEnd - c * h - y0; y < yEnd; y++) data[y * width + x] = 1;
      p = columnEnd;
    }
    pos = end + (counts[i + 1] ?? 0);
  }
  return { x0, y0, width, height, data };
}

/**
 * The background reachable from outside the box through 4-connected
 * background pixels (the dual of 8-connected foreground): everything else is
 * the mask with its holes filled. (Not regions.ts's labeller: that one joins
 * background pixels diagonally too, as SAM's hole filling does, which would
 * let a hole leak out between two diagonal pixels of its wall.)
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

/**
 * The first pixel, in raster order (topmost, then leftmost), of each
 * 8-connected component of the mask, as x y pairs in the raster order of
 * those pixels. The components are regions.ts's `connectedComponents`, the
 * labeller small-region cleanup uses: one labeller, on the RLE's own
 * column runs, so no raster is labelled here.
 */
export function componentStarts(rle: Rle): number[] {
  const { column, top, componentOf, sizes } = connectedComponents(rle, 1);
  const n = sizes.length;
  const sx = new Int32Array(n);
  const sy = new Int32Array(n).fill(-1);
  for (let r = 0; r < column.length; r++) {
    const k = componentOf[r];
    if (sy[k] < 0 || top[r] < sy[k] || (top[r] === sy[k] && column[r] < sx[k])) {
      sx[k] = column[r];
      sy[k] = top[r];
    }
  }
  const order = Array.from({ length: n }, (_, k) => k).sort((a, b) => sy[a] - sy[b] || sx[a] - sx[b]);
  return order.flatMap((k) => [sx[k], sy[k]]);
}

/**
 * The outer boundary of each 8-connected component of a row-major 0/1
 * mask, as `findContours` with `RETR_EXTERNAL` and `CHAIN_APPROX_SIMPLE`
 * gives it: vertices on the boundary pixels, counter-clockwise on screen
 * (y down), only where the direction changes. Components come in the raster
 * order of their first pixel (`starts`, x y pairs; componentStarts by
 * default). Holes have no ring, and neither has a component inside another's
 * hole (the outer ring already encloses it), so the rings never nest.
 */
export function outerRings(data: Uint8Array, width: number, height: number,
  starts = componentStarts(rleFromRowMajor(data, height, width))): Ring[] {
  // A single component sits in no other's hole: the flood is for several.
  const outside = starts.length > 2 ? exteriorOf(data, width, height) : undefined;
  const rings: Ring[] = [];
  for (let k = 0; k < starts.length; k += 2) {
    const x = starts[k];
    const y = starts[k + 1];
    // The pixel above a component's first pixel is background, outside unless the component sits in a hole.
    if (outside && y > 0 && !outside[(y - 1) * width + x]) continue;
    rings.push(traceContour(data, width, height, x, y));
  }
  return rings;
}

// Chain codes as OpenCV numbers them, counter-clockwise on screen from east: E, NE, N, NW, W, SW, S, SE.
const CX = [1, 1, 0, -1, -1, -1, 0, 1];
const CY = [0, -1, -1, -1, 0, 1, 1, 1];

/**
 * Suzuki and Abe's border following from a component's first pixel (x, y),
 * the outer border as OpenCV's `findContours` follows it: the last pixel of
 * the border is the first neighbour found clockwise from the west; from each
 * border pixel, the next is the first neighbour found counter-clockwise
 * after the one it came from; it stops on coming back to the first pixel
 * from the last. A pixel is a vertex when the direction of the step leaving
 * it differs from the step before (`CHAIN_APPROX_SIMPLE`), the first pixel
 * included when the closing step turns there. A lone pixel is one vertex, a
 * straight line two.
 */
function traceContour(data: Uint8Array, width: number, height: number, x0: number, y0: number): Ring {
  const set = (x: number, y: number) => x >= 0 && y >= 0 && x < width && y < height && data[y * width + x] === 1;
  let s = 4;
  do s = (s + 7) & 7; while (s !== 4 && !set(x0 + CX[s], y0 + CY[s]));
  if (s === 4) return [x0, y0];
  const x1 = x0 + CX[s];
  const y1 = y0 + CY[s];
  const ring: Ring = [];
  let previous = s ^ 4;
  let x = x0;
  let y = y0;
  for (;;) {
    do s = (s + 1) & 7; while (!set(x + CX[s], y + CY[s]));
    if (s !== previous) {
      ring.push(x, y);
      previous = s;
    }
    const nx = x + CX[s];
    const ny = y + CY[s];
    if (nx === x0 && ny === y0 && x === x1 && y === y1) break;
    x = nx;
    y = ny;
    s = (s + 4) & 7;
  }
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
 * A mask's polygon in image pixels, vertices on pixel centres: the outer
 * boundary of each component, simplified when `simplify` > 0, joined into
 * one ring. Empty for an empty mask; a lone pixel is one vertex, a straight
 * line of pixels two.
 */
export function maskPolygon(segmentation: { size: [number, number]; counts: string }, simplify = 0): Ring {
  const rle: Rle = { size: segmentation.size, counts: decodeCountsString(segmentation.counts) };
  const box = maskInBox(rle);
  if (!box) return [];
  const starts = componentStarts(rle);
  for (let k = 0; k < starts.length; k += 2) {
    starts[k] -= box.x0;
    starts[k + 1] -= box.y0;
  }
  const rings = outerRings(box.data, box.width, box.height, starts).map((r) => simplifyRing(r, simplify));
  const ring = joinRings(rings);
  for (let i = 0; i < ring.length; i += 2) {
    ring[i] += box.x0;
    ring[i + 1] += box.y0;
  }
  return ring;
}
