/**
 * Bilinear resize with align_corners = false, in float32 arithmetic in the
 * order PyTorch's CPU `upsample_bilinear2d` uses, so thresholds downstream see
 * the same logits as the reference (checked bit for bit against PyTorch in
 * test/golden.test.ts).
 */
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

/** As resizeRowSegment, for the listed output columns cols[kFrom..kTo). */
function resizeRowColumns(
  src: Float32Array, srcOffset: number, srcW: number,
  ys: AxisWeights, xs: AxisWeights, y: number,
  out: Float32Array, outRow: number, cols: Int32Array, kFrom: number, kTo: number,
): void {
  const r0 = srcOffset + ys.i0[y] * srcW;
  const r1 = srcOffset + ys.i1[y] * srcW;
  const h0 = ys.w0[y];
  const h1 = ys.w1[y];
  for (let k = kFrom; k < kTo; k++) {
    const x = cols[k];
    out[outRow + x] = bilinearAt(src, r0, r1, h0, h1, xs, x);
  }
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

/**
 * An upscaled mask: crop-sized logits, row-major. Only columns
 * [rowStart[y], rowEnd[y]) of each row hold values; every other pixel is
 * -Infinity and is known to pass no threshold at or above the upscaler's floor.
 */
export interface UpscaledMask {
  logits: Float32Array;
  rowStart: Int32Array;
  rowEnd: Int32Array;
}

export interface Upscaler {
  readonly geometry: UpscaleGeometry;
  /** Upscales the low-res plane at `offset`; values that cannot exceed `floor` may be left out. */
  upscale(lowResLogits: Float32Array, offset: number, floor: number): UpscaledMask;
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
    };
  }
}

/**
 * The reference's `postprocess_masks` on one low-res mask, computed in full:
 * bilinear to S×S, keep the top-left resizedH × resizedW, bilinear to the
 * crop size. The plain path, kept as the reference for the sparse one.
 */
export class FullUpscaler extends UpscalerBase implements Upscaler {
  upscale(lowResLogits: Float32Array, offset: number): UpscaledMask {
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
    return this.result;
  }
}

/** For each source index j of an axis: the first and last outputs that read it or anything after / before it. */
function reachOfSources(axis: AxisWeights, sources: number): { first: Int32Array; last: Int32Array } {
  const n = axis.i0.length;
  const first = new Int32Array(sources).fill(n);
  const last = new Int32Array(sources).fill(-1);
  // first[j]: smallest output whose upper source i1 >= j; last[j]: largest output whose lower source i0 <= j.
  for (let d = n - 1; d >= 0; d--) first[Math.min(axis.i1[d], sources - 1)] = d;
  for (let j = sources - 2; j >= 0; j--) first[j] = Math.min(first[j], first[j + 1]);
  for (let d = 0; d < n; d++) last[axis.i0[d]] = d;
  for (let j = 1; j < sources; j++) last[j] = Math.max(last[j], last[j - 1]);
  return { first, last };
}

/**
 * The same values as FullUpscaler, computed only where they can matter: a
 * bilinear output is a convex combination of its sources, so it can exceed
 * `floor` only if one of its sources (nearly) does. Every output pixel whose
 * sources might is computed with the exact formula; the rest stay -Infinity.
 */
export class SparseUpscaler extends UpscalerBase implements Upscaler {
  private readonly stage1From: Int32Array;
  private readonly stage1To: Int32Array;
  private readonly lowMin: Int32Array;
  private readonly lowMax: Int32Array;
  private readonly firstReach: { first: Int32Array; last: Int32Array };
  private readonly secondReach: { first: Int32Array; last: Int32Array };
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
    this.stage1From = new Int32Array(geometry.resizedH);
    this.stage1To = new Int32Array(geometry.resizedH);
    this.lowMin = new Int32Array(geometry.lowRes);
    this.lowMax = new Int32Array(geometry.lowRes);
    this.firstReach = reachOfSources(this.firstX, geometry.lowRes);
    this.secondReach = reachOfSources(this.secondX, geometry.resizedW);
  }

  upscale(lowResLogits: Float32Array, offset: number, floor: number): UpscaledMask {
    const g = this.geometry;
    const { logits, rowStart, rowEnd } = this.result;
    for (let y = 0; y < g.cropH; y++) {
      if (rowEnd[y] > rowStart[y]) logits.fill(-Infinity, y * g.cropW + rowStart[y], y * g.cropW + rowEnd[y]);
      rowStart[y] = 0;
      rowEnd[y] = 0;
    }
    this.src = lowResLogits;
    this.srcOffset = offset;
    this.stage1From.fill(1);
    this.stage1To.fill(0);
    // Float32 rounding can lift a convex combination a few ulps above its
    // largest source; the margin keeps such sources in.
    const live = floor - 1e-4 * (1 + Math.abs(floor));
    const L = g.lowRes;
    for (let j = 0; j < L; j++) {
      let lo = L;
      let hi = -1;
      const row = offset + j * L;
      for (let i = 0; i < L; i++) {
        if (lowResLogits[row + i] > live) {
          if (lo === L) lo = i;
          hi = i;
        }
      }
      this.lowMin[j] = lo;
      this.lowMax[j] = hi;
    }
    for (let y = 0; y < g.cropH; y++) {
      const a = this.secondY.i0[y];
      const b = this.secondY.i1[y];
      const spanA = this.liveStage1Span(a);
      const spanB = this.liveStage1Span(b);
      const c0 = Math.min(spanA[0], spanB[0]);
      const c1 = Math.max(spanA[1], spanB[1]);
      if (c0 > c1) continue;
      const x0 = this.secondReach.first[c0];
      const x1 = this.secondReach.last[c1];
      if (x0 > x1) continue;
      const need0 = this.secondX.i0[x0];
      const need1 = this.secondX.i1[x1];
      this.ensureStage1(a, need0, need1);
      this.ensureStage1(b, need0, need1);
      resizeRowSegment(this.stage1, 0, g.resizedW, this.secondY, this.secondX, y, logits, y * g.cropW, x0, x1);
      rowStart[y] = x0;
      rowEnd[y] = x1 + 1;
    }
    return this.result;
  }

  /** Stage-1 columns of row r that might be live: [from, to], empty when from > to. */
  private liveStage1Span(r: number): [number, number] {
    const j0 = this.firstY.i0[r];
    const j1 = this.firstY.i1[r];
    const lo = Math.min(this.lowMin[j0], this.lowMin[j1]);
    const hi = Math.max(this.lowMax[j0], this.lowMax[j1]);
    if (lo > hi) return [1, 0];
    return [this.firstReach.first[lo], this.firstReach.last[hi]];
  }

  /** Makes columns [from, to] of stage-1 row r hold their exact values. */
  private ensureStage1(r: number, from: number, to: number): void {
    const g = this.geometry;
    const have0 = this.stage1From[r];
    const have1 = this.stage1To[r];
    const row = r * g.resizedW;
    // Only the columns the second resize reads: when it shrinks, most are skipped.
    const compute = (c0: number, c1: number) => {
      if (c0 <= c1) {
        resizeRowColumns(this.src, this.srcOffset, g.lowRes, this.firstY, this.firstX, r, this.stage1, row,
          this.readColumns, this.readColumnFrom[c0], this.readColumnFrom[c1 + 1]);
      }
    };
    if (have0 > have1) {
      compute(from, to);
      this.stage1From[r] = from;
      this.stage1To[r] = to;
      return;
    }
    compute(from, have0 - 1);
    compute(have1 + 1, to);
    this.stage1From[r] = Math.min(from, have0);
    this.stage1To[r] = Math.max(to, have1);
  }
}
