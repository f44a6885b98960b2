import { antialiasResizeRgb } from '../image/antialias-resize.js';
import type { RgbImage } from '../image/rgb-image.js';

export const SAM_PIXEL_MEAN: readonly number[] = [123.675, 116.28, 103.53];
export const SAM_PIXEL_STD: readonly number[] = [58.395, 57.12, 57.375];
/** ImageNet statistics on the 0..1 scale (SAM 2, EfficientSAM). */
export const IMAGENET_MEAN: readonly number[] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: readonly number[] = [0.229, 0.224, 0.225];

/**
 * `(x · scale - mean) / std` per channel, zero-padded bottom and right to
 * padH × padW, NCHW float32 (with scale 1 and SAM's statistics, the
 * reference's `Sam.preprocess`).
 */
export function normalizeAndPad(
  image: RgbImage,
  size: number,
  mean: readonly number[],
  std: readonly number[],
  scale = 1,
  padH = size,
  padW = size,
): Float32Array {
  const plane = padH * padW;
  const out = new Float32Array(3 * plane);
  const { width, height, data } = image;
  for (let c = 0; c < 3; c++) {
    const m = mean[c];
    const s = std[c];
    const base = c * plane;
    for (let y = 0; y < height; y++) {
      const row = base + y * padW;
      let p = y * width * 3 + c;
      if (scale === 1) for (let x = 0; x < width; x++, p += 3) out[row + x] = (data[p] - m) / s;
      else for (let x = 0; x < width; x++, p += 3) out[row + x] = (data[p] * scale - m) / s;
    }
  }
  return out;
}

/** HWC float32 of the raw 0..255 values, for encoders that normalise and pad inside the graph. */
export function toHwcFloat(image: RgbImage): Float32Array {
  return Float32Array.from(image.data);
}

/**
 * SAM 2's image transform (`SAM2Transforms`): the 8-bit image to float32
 * 0..1 (`ToTensor`), resized to size² with PyTorch's antialiased bilinear
 * on the float values (torchvision's `Resize`: nothing rounded to 8 bits),
 * then `(x - mean) / std` in float32 (`Normalize`); NCHW.
 */
export function sam2Preprocess(image: RgbImage, size: number, mean: readonly number[], std: readonly number[]): Float32Array {
  const out = antialiasResizeRgb(image, size, size);
  const plane = size * size;
  for (let c = 0; c < 3; c++) {
    const m = Math.fround(mean[c]);
    const s = Math.fround(std[c]);
    for (let k = c * plane; k < (c + 1) * plane; k++) out[k] = Math.fround(out[k] - m) / s;
  }
  return out;
}
