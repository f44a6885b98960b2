import sharp from 'sharp';
import type { Sa1bAnnotation, Sa1bFile } from '../output/sa1b.js';
import { decodeCountsString } from '../rle/coco-string.js';

/**
 * One label per pixel: 0 where no mask is, else the `id` of the smallest
 * mask covering it (the larger are painted first, as SAM's own
 * visualisation draws them; equal areas: the lower id wins). Returns the
 * row-major labels and how many pixels have one.
 */
export function labelMap(file: Sa1bFile, annotations: readonly Sa1bAnnotation[]): { labels: Uint16Array; labelled: number } {
  const { width, height } = file.image;
  const labels = new Uint16Array(width * height);
  const order = [...annotations].sort((a, b) => b.area - a.area || b.id - a.id);
  for (const a of order) {
    if (a.id > 0xffff) throw new Error(`annotation id ${a.id} does not fit a 16-bit label map`);
    const counts = decodeCountsString(a.segmentation.counts);
    for (let i = 1, pos = counts[0]; i < counts.length; i += 2) {
      for (let p = pos, end = pos + counts[i]; p < end; p++) {
        const x = Math.floor(p / height);
        labels[(p - x * height) * width + x] = a.id;
      }
      pos += counts[i] + (counts[i + 1] ?? 0);
    }
  }
  let labelled = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i]) labelled++;
  return { labels, labelled };
}

/** The labels as a 16-bit grey PNG. */
export function labelMapPng(labels: Uint16Array, width: number, height: number): Promise<Buffer> {
  // sharp takes a Uint16Array's samples as 16-bit (a Buffer of the same bytes would be read as 8-bit).
  return sharp(labels, { raw: { width, height, channels: 1 } }).toColourspace('grey16').png().toBuffer();
}
