import sharp from 'sharp';
import type { RgbImage } from '../image/rgb-image.js';
import { storeFor } from '../storage/store.js';
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

/** Written into every overlay's EXIF Software tag: the mark of a file a later --viz may replace. */
const OVERLAY_MARK = 'sam-amg inspect --viz';

/** The overlay as a PNG, marked as sam-amg's. */
export function overlayPng(drawn: RgbImage): Promise<Buffer> {
  return sharp(drawn.data, { raw: { width: drawn.width, height: drawn.height, channels: 3 } })
    .withExif({ IFD0: { Software: OVERLAY_MARK } }).png().toBuffer();
}

/**
 * Writes an overlay unless something sam-amg did not write is there (a
 * user's picture, an image of the dataset): that is left alone, and the
 * Error says so.
 */
export async function writeOverlay(file: string, png: Uint8Array): Promise<void> {
  const store = storeFor(file);
  const existing = await store.read(file).catch((err: NodeJS.ErrnoException) => (err.code === 'EISDIR' ? Buffer.alloc(0) : undefined));
  if (existing !== undefined) {
    const exif = await sharp(existing).metadata().then((m) => m.exif, () => undefined);
    if (!exif?.toString('latin1').includes(OVERLAY_MARK)) throw new Error(`${file} exists and is not an overlay sam-amg wrote; it is left alone`);
  }
  await store.write(file, png);
}
