/**
 * PyTorch's `interpolate(mode="bilinear", antialias=True, align_corners=False)`
 * on float32 planes, as SAM 2's image transform (torchvision's `Resize` on
 * the 0..1 float tensor) computes it on the CPU: separable passes, width
 * first, each output a weighted sum over a triangle filter whose support
 * widens with the downscale factor, weights normalised per output, every
 * step in float32. Checked bit for bit against PyTorch in test/amg/golden.test.ts.
 * `antialiasResize` is the plain form, on float planes; `antialiasResizeRgb`
 * the one the encoder uses, tested against it.
 */
import type { RgbImage } from './rgb-image.js';

const f32 = Math.fround;

export interface AntialiasWeights {
  /** First source index of each output. */
  start: Int32Array;
  /** Taps of each output. */
  taps: Int32Array;
  /** `ksize` weights per output, the unused ones 0. */
  weights: Float32Array;
  ksize: number;
}

/** The triangle filter, in float32 as PyTorch's `aa_filter`. */
function triangle(x: number): number {
  const a = x < 0 ? -x : x;
  return a < 1 ? f32(1 - a) : 0;
}

export function antialiasWeights(inSize: number, outSize: number): AntialiasWeights {
  const scale = f32(inSize / outSize);
  const support = scale >= 1 ? scale : 1;
  const invScale = scale >= 1 ? f32(1 / scale) : 1;
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const taps = new Int32Array(outSize);
  const weights = new Float32Array(outSize * ksize);
  for (let i = 0; i < outSize; i++) {
    const center = f32(scale * (i + 0.5));
    const xmin = Math.max(Math.trunc(f32(center - support) + 0.5), 0);
    const xsize = Math.min(Math.trunc(f32(center + support) + 0.5), inSize) - xmin;
    let total = 0;
    const base = i * ksize;
    for (let j = 0; j < xsize; j++) {
      const w = triangle(f32((f32(j + xmin - center) + 0.5) * invScale));
      weights[base + j] = w;
      total = f32(total + w);
    }
    if (total !== 0) for (let j = 0; j < xsize; j++) weights[base + j] = f32(weights[base + j] / total);
    start[i] = xmin;
    taps[i] = xsize;
  }
  return { start, taps, weights, ksize };
}

/**
 * One pass along an axis: `lines` lines, line k starting at `srcLine(k)` with
 * its values `srcStep` apart, each resized into `dstLine(k)`, `dstStep` apart.
 */
function resizeAxis(
  src: Float32Array, dst: Float32Array, lines: number, w: AntialiasWeights,
  srcStep: number, srcLine: (k: number) => number, dstStep: number, dstLine: (k: number) => number,
): void {
  const { start, taps, weights, ksize } = w;
  const outSize = start.length;
  for (let k = 0; k < lines; k++) {
    const s0 = srcLine(k);
    const d0 = dstLine(k);
    for (let i = 0; i < outSize; i++) {
      const base = i * ksize;
      let p = s0 + start[i] * srcStep;
      let sum = f32(src[p] * weights[base]);
      // PyTorch's kernel is built with fused multiply-add: each step is fma(value, weight, sum).
      // A float32 product is exact in a double, so one rounding of the double sum gives its result.
      for (let j = 1; j < taps[i]; j++) {
        p += srcStep;
        sum = f32(src[p] * weights[base + j] + sum);
      }
      dst[d0 + i * dstStep] = sum;
    }
  }
}

/** Resizes `channels` planes of inH × inW (CHW, float32) to outH × outW. */
export function antialiasResize(src: Float32Array, channels: number, inH: number, inW: number, outH: number, outW: number): Float32Array {
  // Width first, then height, as PyTorch's separable kernel (a pass of unchanged size gives its input back).
  const wide = new Float32Array(channels * inH * outW);
  resizeAxis(src, wide, channels * inH, antialiasWeights(inW, outW), 1, (k) => k * inW, 1, (k) => k * outW);
  const out = new Float32Array(channels * outH * outW);
  // Line k of the height pass is column k % outW of channel ⌊k / outW⌋.
  const column = (plane: number) => (k: number) => Math.floor(k / outW) * plane + (k % outW);
  resizeAxis(wide, out, channels * outW, antialiasWeights(inH, outH), outW, column(inH * outW), outW, column(outH * outW));
  return out;
}

/** The 8-bit values as ToTensor gives them: v / 255 in float32. */
const UNIT = Float32Array.from({ length: 256 }, (_, v) => v / 255);

/**
 * `antialiasResize` of an 8-bit RGB image's 0..1 values, to CHW planes, with
 * the same operations in the same order, so the same bits: the width pass
 * reads the interleaved bytes directly (no float copy of the whole image)
 * and the height pass runs along rows, where memory is contiguous.
 */
export function antialiasResizeRgb(image: RgbImage, outH: number, outW: number): Float32Array {
  const { width: inW, height: inH, data } = image;
  const xs = antialiasWeights(inW, outW);
  const wide = new Float32Array(3 * inH * outW);
  for (let y = 0; y < inH; y++) {
    const row = y * inW * 3;
    for (let x = 0; x < outW; x++) {
      const base = x * xs.ksize;
      const taps = xs.taps[x];
      let p = row + xs.start[x] * 3;
      let r = f32(UNIT[data[p]] * xs.weights[base]);
      let g = f32(UNIT[data[p + 1]] * xs.weights[base]);
      let b = f32(UNIT[data[p + 2]] * xs.weights[base]);
      for (let j = 1; j < taps; j++) {
        p += 3;
        const w = xs.weights[base + j];
        r = f32(UNIT[data[p]] * w + r);
        g = f32(UNIT[data[p + 1]] * w + g);
        b = f32(UNIT[data[p + 2]] * w + b);
      }
      const at = y * outW + x;
      wide[at] = r;
      wide[inH * outW + at] = g;
      wide[2 * inH * outW + at] = b;
    }
  }
  const ys = antialiasWeights(inH, outH);
  const out = new Float32Array(3 * outH * outW);
  for (let c = 0; c < 3; c++) {
    const src = c * inH * outW;
    for (let y = 0; y < outH; y++) {
      const dst = (c * outH + y) * outW;
      const base = y * ys.ksize;
      const first = src + ys.start[y] * outW;
      const w0 = ys.weights[base];
      for (let x = 0; x < outW; x++) out[dst + x] = f32(wide[first + x] * w0);
      for (let j = 1; j < ys.taps[y]; j++) {
        const from = first + j * outW;
        const w = ys.weights[base + j];
        for (let x = 0; x < outW; x++) out[dst + x] = f32(wide[from + x] * w + out[dst + x]);
      }
    }
  }
  return out;
}
