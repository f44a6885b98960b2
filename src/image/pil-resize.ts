import type { RgbImage } from './rgb-image.js';

/**
 * PIL's `Image.resize(..., BILINEAR)` on 8-bit RGB, reproduced exactly:
 * separable passes (horizontal first, each skipped when its size is unchanged),
 * triangle filter widened by the downscale factor, weights in 22-bit fixed
 * point, rounding to uint8 after each pass.
 */
const PRECISION_BITS = 22;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);

interface Coefficients {
  /** First source index of each output pixel. */
  start: Int32Array;
  /** Number of taps of each output pixel. */
  taps: Int32Array;
  /** ksize fixed-point weights per output pixel. */
  weights: Int32Array;
  ksize: number;
}

export function bilinearCoefficients(inSize: number, outSize: number): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale; // the triangle filter's support is 1
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const taps = new Int32Array(outSize);
  const weights = new Int32Array(outSize * ksize);
  const raw = new Float64Array(ksize);
  for (let x = 0; x < outSize; x++) {
    const center = (x + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let sum = 0;
    for (let j = 0; j < xmax; j++) {
      const t = Math.abs((j + xmin - center + 0.5) / filterScale);
      const w = t < 1 ? 1 - t : 0;
      raw[j] = w;
      sum += w;
    }
    for (let j = 0; j < xmax; j++) {
      const w = sum !== 0 ? raw[j] / sum : raw[j];
      weights[x * ksize + j] = w < 0 ? Math.trunc(-0.5 + w * ONE) : Math.trunc(0.5 + w * ONE);
    }
    start[x] = xmin;
    taps[x] = xmax;
  }
  return { start, taps, weights, ksize };
}

function clampShift(acc: number): number {
  const v = acc >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

function resizeHorizontal(src: RgbImage, outW: number): RgbImage {
  const { start, taps, weights, ksize } = bilinearCoefficients(src.width, outW);
  const out = new Uint8Array(outW * src.height * 3);
  for (let y = 0; y < src.height; y++) {
    const row = y * src.width * 3;
    const outRow = y * outW * 3;
    for (let x = 0; x < outW; x++) {
      let r = HALF, g = HALF, b = HALF;
      const k = x * ksize;
      let p = row + start[x] * 3;
      for (let j = 0; j < taps[x]; j++, p += 3) {
        const w = weights[k + j];
        r += src.data[p] * w;
        g += src.data[p + 1] * w;
        b += src.data[p + 2] * w;
      }
      const o = outRow + x * 3;
      out[o] = clampShift(r);
      out[o + 1] = clampShift(g);
      out[o + 2] = clampShift(b);
    }
  }
  return { width: outW, height: src.height, data: out };
}

function resizeVertical(src: RgbImage, outH: number): RgbImage {
  const { start, taps, weights, ksize } = bilinearCoefficients(src.height, outH);
  const stride = src.width * 3;
  const out = new Uint8Array(stride * outH);
  for (let y = 0; y < outH; y++) {
    const k = y * ksize;
    const first = start[y] * stride;
    for (let c = 0; c < stride; c++) {
      let acc = HALF;
      let p = first + c;
      for (let j = 0; j < taps[y]; j++, p += stride) acc += src.data[p] * weights[k + j];
      out[y * stride + c] = clampShift(acc);
    }
  }
  return { width: src.width, height: outH, data: out };
}

export function pilBilinearResize(image: RgbImage, outW: number, outH: number): RgbImage {
  let result = image;
  if (outW !== image.width) result = resizeHorizontal(result, outW);
  if (outH !== image.height) result = resizeVertical(result, outH);
  return result;
}
