import { decodeBinary } from '@thi.ng/rle-pack';
import { describe, expect, it } from 'vitest';
import { brushRle, brushRleReference } from '../../src/export/label-studio.js';
import { encodeCountsString } from '../../src/rle/coco-string.js';
import { rleFromRowMajor } from '../../src/rle/rle.js';

const segmentation = (mask: Uint8Array, width: number, height: number) =>
  ({ size: [height, width] as [number, number], counts: encodeCountsString(rleFromRowMajor(mask, height, width).counts) });

/** A deterministic pseudo-random sequence (xorshift), so failures repeat. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

describe('Label Studio brush RLE: the run-by-run writer gives rle-pack\'s bytes', () => {
  const cases: [string, number, number, (x: number, y: number, r: () => number) => boolean][] = [
    ['empty', 40, 30, () => false],
    ['full', 40, 30, () => true],
    ['the first pixel alone', 9, 7, (x, y) => x === 0 && y === 0],
    ['the last pixel alone', 9, 7, (x, y) => x === 8 && y === 6],
    ['noise: runs of one pixel', 64, 48, (_x, _y, r) => r() < 0.5],
    ['a rectangle', 300, 200, (x, y) => x >= 40 && x < 260 && y >= 30 && y < 170],
    // Runs longer than rle-pack's longest group (2^16 bytes), split exactly at it and just past it.
    ['long runs', 1024, 700, (x, y) => y >= 100 && (y < 600 || x < 500)],
    ['a run of exactly 2^16 bytes', 4096, 3, (_x, y) => y === 1],
    ['a run of 2^16 + 4 bytes', 4097, 3, (x, y) => y === 1 || (y === 2 && x === 0)],
  ];
  it.each(cases)('%s', (_name, width, height, inside) => {
    const r = random(12345);
    const mask = new Uint8Array(width * height);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) mask[y * width + x] = inside(x, y, r) ? 1 : 0;
    const seg = segmentation(mask, width, height);
    const fast = brushRle(seg);
    expect(Buffer.from(fast).equals(Buffer.from(brushRleReference(seg, new Uint8Array(width * height * 4))))).toBe(true);
    const decoded = decodeBinary(fast);
    expect(decoded.length).toBe(width * height * 4);
    expect(decoded.every((v, i) => v === mask[i >> 2] * 255)).toBe(true);
  });

  it('on twenty random discs of random sizes', () => {
    const r = random(99);
    for (let k = 0; k < 20; k++) {
      const width = 50 + Math.floor(r() * 300);
      const height = 40 + Math.floor(r() * 200);
      const [cx, cy, rad] = [r() * width, r() * height, 5 + r() * 80];
      const mask = new Uint8Array(width * height);
      for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) mask[y * width + x] = (x - cx) ** 2 + (y - cy) ** 2 < rad * rad ? 1 : 0;
      const seg = segmentation(mask, width, height);
      expect(Buffer.from(brushRle(seg)).equals(Buffer.from(brushRleReference(seg, new Uint8Array(width * height * 4)))), `disc ${k}`).toBe(true);
    }
  });
});
