/**
 * Bilinear resize with align_corners = false, in float32 arithmetic in the
 * order PyTorch's CPU `upsample_bilinear2d` uses, so thresholds downstream see
 * the same logits as the reference (checked bit for bit against PyTorch in
 * test/amg/golden.test.ts).
 */
import { countAbove, type UpscaledMask } from './mask-ops.js';
import { intersectionReach, runsAbove, unionReach, type Reach } from './runs.js';

const f32 = Math.fround;

export interface AxisWeights {
  i0: Int32Array;
  i1: Int32Array;
  w0: Float32Array;
  w1: Float32Array;
}

/** Source indices and weights for the first `count` outputs of an `inSize` → `outSize` axis. */
export function axisWeights(inSize: number, outSize: number, count = outSize): AxisWeights {
  const scale = f32(inSize / outSize);
  const i0 = new Int32Array(count);
  const i1 = new Int32Array(count);
  const w0 = new Float32Array(count);
  const w1 = new Float32Array(count);
  for (let d = 0; d < count; d++) {
    // The scale is float32, but PyTorch's kernel keeps the source position
    // scale * (d + 0.5) - 0.5 in higher precision and rounds only the weight.
    let real = scale * (d + 0.5) - 0.5;
    if (real < 0) real = 0;
    const idx = Math.min(Math.floor(real), inSize - 1);
    const lambda = Math.min(Math.max(f32(real - idx), 0), 1);
    i0[d] = idx;
    i1[d] = idx < inSize - 1 ? idx + 1 : idx;
    w1[d] = lambda;
    w0[d] = f32(1 - lambda);
  }
  return { i0, i1, w0, w1 };
}

/**
 * One output pixel from the rows r0/r1 (offsets into `src`) and weights h0/h1,
 * at output column x: the single bilinear formula every upscale uses, so the
 * full and the sparse paths give identical values.
 */
function bilinearAt(src: Float32Array, r0: number, r1: number, h0: number, h1: number, xs: AxisWeights, x: number): number {
  const a = xs.i0[x];
  const b = xs.i1[x];
  const w0 = xs.w0[x];
  const w1 = xs.w1[x];
  // PyTorch's kernel is built with fused multiply-add: each `t0 * w0 + t1 * w1`
  // is fma(t0, w0, t1 * w1). A float32 product is exact in a double, so one
  // rounding of the double sum gives the fma's result.
  const top = f32(src[r0 + a] * w0 + f32(src[r0 + b] * w1));
  const bottom = f32(src[r1 + a] * w0 + f32(src[r1 + b] * w1));
  return top * h0 + f32(bottom * h1);
}

/** Writes columns [from, to] of output row `y` into `out` at `outRow`. */
function resizeRowSegment(
  src: Float32Array, srcOffset: number, srcW: number,
  ys: AxisWeights, xs: AxisWeights, y: number,
  out: Float32Array, outRow: number, from: number, to: number,
): void {
  const r0 = srcOffset + ys.i0[y] * srcW;
  const r1 = srcOffset + ys.i1[y] * srcW;
  const h0 = ys.w0[y];
  const h1 = ys.w1[y];
  for (let x = from; x <= to; x++) out[outRow + x] = bilinearAt(src, r0, r1, h0, h1, xs, x);
}

/** Geometry of the reference's mask post-processing for one crop. */
export interface UpscaleGeometry {
  /** Side of the low-resolution logits (256 for SAM). */
  lowRes: number;
  /** Encoder input side S (1024 for SAM). */
  inputSize: number;
  /** Crop size after resizing its longest side to S. */
  resizedH: number;
  resizedW: number;
  /** Crop size in image pixels. */
  cropH: number;
  cropW: number;
}

export interface Upscaler {
  readonly geometry: UpscaleGeometry;
  /**
   * Upscales the low-res plane at `offset`; values that cannot exceed `floor`
   * may be left out (-Infinity), values certain to exceed `ceiling` may be
   * given as +Infinity. Every threshold between the two sees the exact result.
   */
  upscale(lowResLogits: Float32Array, offset: number, floor: number, ceiling?: number): UpscaledMask;
}

abstract class UpscalerBase {
  protected readonly firstY: AxisWeights;
  protected readonly firstX: AxisWeights;
  protected readonly secondY: AxisWeights;
  protected readonly secondX: AxisWeights;
  protected readonly stage1: Float32Array;
  protected readonly result: UpscaledMask;

  constructor(readonly geometry: UpscaleGeometry) {
    const g = geometry;
    // Only the kept top-left resizedH × resizedW of the S×S stage is computed; its values are the same.
    this.firstY = axisWeights(g.lowRes, g.inputSize, g.resizedH);
    this.firstX = axisWeights(g.lowRes, g.inputSize, g.resizedW);
    this.secondY = axisWeights(g.resizedH, g.cropH);
    this.secondX = axisWeights(g.resizedW, g.cropW);
    this.stage1 = new Float32Array(g.resizedH * g.resizedW);
    this.result = {
      logits: new Float32Array(g.cropH * g.cropW).fill(-Infinity),
      rowStart: new Int32Array(g.cropH),
      rowEnd: new Int32Array(g.cropH),
      aboveFloor: 0,
      aboveCeiling: 0,
    };
  }
}

/**
 * The reference's `postprocess_masks` on one low-res mask, computed in full:
 * bilinear to S×S, keep the top-left resizedH × resizedW, bilinear to the
 * crop size. The plain path, kept as the reference for the sparse one.
 */
export class FullUpscaler extends UpscalerBase implements Upscaler {
  upscale(lowResLogits: Float32Array, offset: number, floor = -Infinity, ceiling = Infinity): UpscaledMask {
    const g = this.geometry;
    for (let y = 0; y < g.resizedH; y++) {
      resizeRowSegment(lowResLogits, offset, g.lowRes, this.firstY, this.firstX, y,
        this.stage1, y * g.resizedW, 0, g.resizedW - 1);
    }
    for (let y = 0; y < g.cropH; y++) {
      resizeRowSegment(this.stage1, 0, g.resizedW, this.secondY, this.secondX, y,
        this.result.logits, y * g.cropW, 0, g.cropW - 1);
    }
    this.result.rowStart.fill(0);
    this.result.rowEnd.fill(g.cropW);
    this.result.aboveFloor = countAbove(this.result, g.cropW, floor);
    this.result.aboveCeiling = countAbove(this.result, g.cropW, ceiling);
    return this.result;
  }
}

/**
 * For each source index j of an axis: first[j], the smallest output d with
 * firstKey[d] >= j, and last[j], the largest with lastKey[d] <= j (both keys
 * are nondecreasing source indices). Keyed by (i1, i0) it gives the outputs
 * that read any source at or after / before j; keyed by (i0, i1), those that
 * read only such sources.
 */
function reachBy(firstKey: Int32Array, lastKey: Int32Array, sources: number): Reach {
  const n = firstKey.length;
  const first = new Int32Array(sources + 1).fill(n);
  const last = new Int32Array(sources).fill(-1);
  for (let d = n - 1; d >= 0; d--) first[firstKey[d]] = d;
  for (let j = sources - 1; j >= 0; j--) first[j] = Math.min(first[j], first[j + 1]);
  for (let d = 0; d < n; d++) last[lastKey[d]] = d;
  for (let j = 1; j < sources; j++) last[j] = Math.max(last[j], last[j - 1]);
  return { first, last };
}

/** Inside runs shorter than this are computed anyway: splitting the row would cost more than it saves. */
const MIN_INSIDE_RUN = 16;

/** A row's live runs (values that may exceed the floor) and inside runs (values certain to exceed the ceiling). */
class RowRuns {
  readonly live: Int32Array;
  readonly inside: Int32Array;
  nLive = 0;
  nInside = 0;
  row = -1;

  constructor(width: number) {
    this.live = new Int32Array(width + 2);
    this.inside = new Int32Array(width + 2);
  }
}

/**
 * The same values as FullUpscaler, computed only where they can matter: a
 * bilinear output is a convex combination of its sources, so it can exceed
 * `floor` only if one of its sources (nearly) does, and is certain to exceed
 * `ceiling` if all of them (clearly) do. Pixels in between are computed with
 * the exact formula; those below stay -Infinity, those above become +Infinity.
 * Runs of such columns are tracked per row through both resizes, so the work
 * follows a mask's boundary, not its area or its bounding box.
 */
export class SparseUpscaler extends UpscalerBase implements Upscaler {
  private readonly L: number;
  /** Per low-res row j, its runs at j * (L + 2), with counts. */
  private readonly lowLive: Int32Array;
  private readonly lowInside: Int32Array;
  private readonly lowLiveCount: Int32Array;
  private readonly lowInsideCount: Int32Array;
  /** The two stage-1 rows an output row reads, cached between output rows. */
  private readonly stage1Runs: [RowRuns, RowRuns];
  private readonly outRuns: RowRuns;
  private readonly firstReach: Reach;
  private readonly secondReach: Reach;
  private readonly firstInner: Reach;
  private readonly secondInner: Reach;
  /** stage1Stamp[i] === stamp when stage-1 pixel i holds this call's exact value. */
  private readonly stage1Stamp: Int32Array;
  private stamp = 0;
  private floor = -Infinity;
  private ceiling = Infinity;
  private src: Float32Array = new Float32Array(0);
  private srcOffset = 0;
  /** Stage-1 columns the second resize reads, ascending. */
  private readonly readColumns: Int32Array;
  /** For each stage-1 column c, the index in readColumns of the first read column >= c. */
  private readonly readColumnFrom: Int32Array;

  constructor(geometry: UpscaleGeometry) {
    super(geometry);
    const read = new Uint8Array(geometry.resizedW);
    for (let x = 0; x < geometry.cropW; x++) {
      read[this.secondX.i0[x]] = 1;
      read[this.secondX.i1[x]] = 1;
    }
    const columns: number[] = [];
    for (let c = 0; c < read.length; c++) if (read[c]) columns.push(c);
    this.readColumns = Int32Array.from(columns);
    this.readColumnFrom = new Int32Array(geometry.resizedW + 1);
    for (let c = geometry.resizedW - 1, k = this.readColumns.length; c >= 0; c--) {
      if (read[c]) k--;
      this.readColumnFrom[c] = k;
    }
    this.readColumnFrom[geometry.resizedW] = this.readColumns.length;
    const L = (this.L = geometry.lowRes);
    this.lowLive = new Int32Array(L * (L + 2));
    this.lowInside = new Int32Array(L * (L + 2));
    this.lowLiveCount = new Int32Array(L);
    this.lowInsideCount = new Int32Array(L);
    this.stage1Runs = [new RowRuns(geometry.resizedW), new RowRuns(geometry.resizedW)];
    this.outRuns = new RowRuns(geometry.cropW);
    this.firstReach = reachBy(this.firstX.i1, this.firstX.i0, L);
    this.secondReach = reachBy(this.secondX.i1, this.secondX.i0, geometry.resizedW);
    this.firstInner = reachBy(this.firstX.i0, this.firstX.i1, L);
    this.secondInner = reachBy(this.secondX.i0, this.secondX.i1, geometry.resizedW);
    this.stage1Stamp = new Int32Array(geometry.resizedH * geometry.resizedW);
  }

  upscale(lowResLogits: Float32Array, offset: number, floor: number, ceiling = Infinity): UpscaledMask {
    const g = this.geometry;
    const { logits, rowStart, rowEnd } = this.result;
    for (let y = 0; y < g.cropH; y++) {
      if (rowEnd[y] > rowStart[y]) logits.fill(-Infinity, y * g.cropW + rowStart[y], y * g.cropW + rowEnd[y]);
      rowStart[y] = 0;
      rowEnd[y] = 0;
    }
    this.src = lowResLogits;
    this.srcOffset = offset;
    if (++this.stamp === 0x7fffffff) {
      this.stamp = 1;
      this.stage1Stamp.fill(0);
    }
    this.stage1Runs[0].row = -1;
    this.stage1Runs[1].row = -1;
    this.result.aboveFloor = 0;
    this.result.aboveCeiling = 0;
    this.floor = floor;
    this.ceiling = ceiling;
    // Float32 rounding can move a convex combination a few ulps beyond its
    // extreme sources; the margins keep such sources in play.
    const live = floor - 1e-4 * (1 + Math.abs(floor));
    const sure = ceiling + 1e-4 * (1 + Math.abs(ceiling));
    const L = this.L;
    for (let j = 0; j < L; j++) {
      this.lowLiveCount[j] = runsAbove(lowResLogits, offset + j * L, L, live, this.lowLive, j * (L + 2));
      this.lowInsideCount[j] = runsAbove(lowResLogits, offset + j * L, L, sure, this.lowInside, j * (L + 2));
    }
    const out = this.outRuns;
    for (let y = 0; y < g.cropH; y++) {
      const a = this.secondY.i0[y];
      const b = this.secondY.i1[y];
      const ra = this.stage1RowRuns(a, b);
      const rb = this.stage1RowRuns(b, a);
      out.nLive = unionReach(ra.live, 0, ra.nLive, rb.live, 0, rb.nLive, this.secondReach, out.live);
      if (out.nLive === 0) continue;
      out.nInside = intersectionReach(ra.inside, 0, ra.nInside, rb.inside, 0, rb.nInside, this.secondInner, out.inside);
      this.computeRow(y, a, b);
      rowStart[y] = out.live[0];
      rowEnd[y] = out.live[2 * out.nLive - 1] + 1;
    }
    return this.result;
  }

  /** Computes output row y's live runs, filling long inside runs with +Infinity instead. */
  private computeRow(y: number, a: number, b: number): void {
    const { live, inside, nLive, nInside } = this.outRuns;
    const row = y * this.geometry.cropW;
    let k = 0;
    for (let r = 0; r < nLive; r++) {
      let pos = live[2 * r];
      const end = live[2 * r + 1];
      while (k < nInside && inside[2 * k + 1] < pos) k++;
      while (k < nInside && inside[2 * k] <= end) {
        const from = Math.max(inside[2 * k], pos);
        const to = Math.min(inside[2 * k + 1], end);
        if (to - from + 1 >= MIN_INSIDE_RUN) {
          this.computeSegment(y, a, b, pos, from - 1);
          this.result.logits.fill(Infinity, row + from, row + to + 1);
          this.result.aboveFloor += to - from + 1;
          this.result.aboveCeiling += to - from + 1;
          pos = to + 1;
        }
        if (inside[2 * k + 1] > end) break;
        k++;
      }
      this.computeSegment(y, a, b, pos, end);
    }
  }

  /** The runs of stage-1 row r, kept in the cache slot that does not hold row `keep`. */
  private stage1RowRuns(r: number, keep: number): RowRuns {
    const [s0, s1] = this.stage1Runs;
    if (s0.row === r) return s0;
    if (s1.row === r) return s1;
    const slot = s0.row === keep && keep !== r ? s1 : s0;
    const L = this.L;
    const j0 = this.firstY.i0[r];
    const j1 = this.firstY.i1[r];
    slot.nLive = unionReach(this.lowLive, j0 * (L + 2), this.lowLiveCount[j0], this.lowLive, j1 * (L + 2), this.lowLiveCount[j1], this.firstReach, slot.live);
    slot.nInside = intersectionReach(this.lowInside, j0 * (L + 2), this.lowInsideCount[j0], this.lowInside, j1 * (L + 2), this.lowInsideCount[j1], this.firstInner, slot.inside);
    slot.row = r;
    return slot;
  }

  /** Exact values of output columns [x0, x1] of row y, whose sources are stage-1 rows a and b. */
  private computeSegment(y: number, a: number, b: number, x0: number, x1: number): void {
    if (x0 > x1) return;
    const g = this.geometry;
    const need0 = this.secondX.i0[x0];
    const need1 = this.secondX.i1[x1];
    this.ensureStage1(a, need0, need1);
    if (b !== a) this.ensureStage1(b, need0, need1);
    const logits = this.result.logits;
    const row = y * g.cropW;
    resizeRowSegment(this.stage1, 0, g.resizedW, this.secondY, this.secondX, y, logits, row, x0, x1);
    let aboveFloor = 0;
    let aboveCeiling = 0;
    for (let i = row + x0, end = row + x1; i <= end; i++) {
      const v = logits[i];
      if (v > this.floor) aboveFloor++;
      if (v > this.ceiling) aboveCeiling++;
    }
    this.result.aboveFloor += aboveFloor;
    this.result.aboveCeiling += aboveCeiling;
  }

  /** Makes the read columns in [from, to] of stage-1 row r hold their exact values. */
  private ensureStage1(r: number, from: number, to: number): void {
    const g = this.geometry;
    const row = r * g.resizedW;
    const stamps = this.stage1Stamp;
    const stamp = this.stamp;
    const src = this.src;
    const xs = this.firstX;
    const r0 = this.srcOffset + this.firstY.i0[r] * g.lowRes;
    const r1 = this.srcOffset + this.firstY.i1[r] * g.lowRes;
    const h0 = this.firstY.w0[r];
    const h1 = this.firstY.w1[r];
    const cols = this.readColumns;
    // Only the columns the second resize reads: when it shrinks, most are skipped.
    for (let k = this.readColumnFrom[from], end = this.readColumnFrom[to + 1]; k < end; k++) {
      const c = cols[k];
      if (stamps[row + c] === stamp) continue;
      stamps[row + c] = stamp;
      this.stage1[row + c] = bilinearAt(src, r0, r1, h0, h1, xs, c);
    }
  }
}
