import type { RgbImage } from '../image/rgb-image.js';
import { decodeCountsString } from '../rle/coco-string.js';
import { rleToColumnMajor } from '../rle/rle.js';
import type { Sa1bAnnotation } from './sa1b.js';

/** A distinct, stable colour per mask index: hues a golden angle apart. */
export function maskColour(index: number): [number, number, number] {
  const h = (index * 137.508) % 360;
  const s = 0.75;
  const v = 0.95;
  const c = v * s;
  const x = c * (1 - Math.abs(((h / 60) % 2) - 1));
  const m = v - c;
  const [r, g, b] = h < 60 ? [c, x, 0] : h < 120 ? [x, c, 0] : h < 180 ? [0, c, x] : h < 240 ? [0, x, c] : h < 300 ? [x, 0, c] : [c, 0, x];
  return [Math.round((r + m) * 255), Math.round((g + m) * 255), Math.round((b + m) * 255)];
}

/**
 * Paints each mask over a copy of the image: filled at `alpha`, outlined
 * solid (pixels with a 4-neighbour outside the mask). Large masks first, so
 * small ones stay visible on top.
 */
export function drawOverlay(image: RgbImage, annotations: Sa1bAnnotation[], alpha = 0.45): RgbImage {
  const { width: w, height: h } = image;
  const out = Uint8Array.from(image.data);
  const order = annotations.map((_, i) => i).sort((a, b) => annotations[b].area - annotations[a].area);
  for (const i of order) {
    const a = annotations[i];
    const mask = rleToColumnMajor({ size: a.segmentation.size, counts: decodeCountsString(a.segmentation.counts) });
    const [r, g, b] = maskColour(i);
    for (let x = 0; x < w; x++) {
      const col = x * h;
      for (let y = 0; y < h; y++) {
        if (!mask[col + y]) continue;
        const edge = y === 0 || y === h - 1 || x === 0 || x === w - 1 ||
          !mask[col + y - 1] || !mask[col + y + 1] || !mask[col - h + y] || !mask[col + h + y];
        const p = (y * w + x) * 3;
        const k = edge ? 1 : alpha;
        out[p] = Math.round(out[p] * (1 - k) + r * k);
        out[p + 1] = Math.round(out[p + 1] * (1 - k) + g * k);
        out[p + 2] = Math.round(out[p + 2] * (1 - k) + b * k);
      }
    }
  }
  return { width: w, height: h, data: out };
}
