import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, ImageDecodeError } from '../../src/image/decode.js';
import { decodeCountsString } from '../../src/rle/coco-string.js';
import { rleToRowMajor } from '../../src/rle/rle.js';
import { runCli, tempDir, TINY } from '../helpers.js';

/** Real files of every awkward kind, written with sharp into a fresh folder. */
async function writeImageZoo(dir: string): Promise<void> {
  const noise = new Uint8Array(64 * 64 * 3).map((_, i) => (i * 7919) % 251);
  const jpg = await sharp(noise, { raw: { width: 64, height: 64, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
  const corrupt = Buffer.from(jpg);
  for (let i = 700; i < 900; i++) corrupt[i] = (i * 37) & 0xff;
  writeFileSync(path.join(dir, 'corrupt.jpg'), corrupt);
  writeFileSync(path.join(dir, 'truncated.jpg'), jpg.subarray(0, jpg.length >> 1));
  writeFileSync(path.join(dir, 'empty.png'), Buffer.alloc(0));
  writeFileSync(path.join(dir, 'text.jpg'), 'not an image, just text\n');
  writeFileSync(path.join(dir, 'notes.txt'), 'skipped by extension\n');

  await sharp({ create: { width: 1, height: 1, channels: 3, background: '#102030' } }).png().toFile(path.join(dir, 'one-pixel.png'));
  // A horizontal colour ramp, so masks are bands rather than the whole strip.
  const pano = new Uint8Array(10000 * 200 * 3);
  for (let y = 0; y < 200; y++) {
    for (let x = 0; x < 10000; x++) pano.set([Math.floor(x / 40), 255 - Math.floor(x / 40), 128], (y * 10000 + x) * 3);
  }
  await sharp(pano, { raw: { width: 10000, height: 200, channels: 3 } }).png().toFile(path.join(dir, 'panorama.png'));
  const deep = new Uint16Array(4 * 2 * 3).map((_, i) => [0x1234, 0x80ff, 0xffff][i % 3]);
  await sharp(deep, { raw: { width: 4, height: 2, channels: 3 } }).toColourspace('rgb16').png().toFile(path.join(dir, 'deep16.png'));
  await sharp({ create: { width: 16, height: 16, channels: 3, background: '#c86432' } })
    .toColourspace('cmyk').jpeg({ quality: 100 }).toFile(path.join(dir, 'cmyk.jpg'));
  // Stored 60 wide × 40 high: left half red, right half blue; EXIF 6 means "rotate 90° clockwise to view".
  const stored = new Uint8Array(60 * 40 * 3);
  for (let y = 0; y < 40; y++) for (let x = 0; x < 60; x++) stored.set(x < 30 ? [255, 0, 0] : [0, 0, 255], (y * 60 + x) * 3);
  await sharp(stored, { raw: { width: 60, height: 40, channels: 3 } }).jpeg({ quality: 95 })
    .withMetadata({ orientation: 6 }).toFile(path.join(dir, 'exif-rotated.jpg'));
  await sharp(Buffer.from([10, 20, 30, 0, 40, 50, 60, 128]), { raw: { width: 2, height: 1, channels: 4 } })
    .png().toFile(path.join(dir, 'alpha.png'));
  await sharp(Buffer.from([0, 100, 200, 255]), { raw: { width: 2, height: 2, channels: 1 } }).png().toFile(path.join(dir, 'grey.png'));
  const frame = (c: string) => sharp({ create: { width: 8, height: 6, channels: 3, background: c } }).png().toBuffer();
  await sharp([await frame('#ff0000'), await frame('#0000ff')], { join: { animated: true } }).gif().toFile(path.join(dir, 'animated.gif'));
  const solid = sharp({ create: { width: 24, height: 16, channels: 3, background: '#20c040' } });
  await solid.clone().webp({ lossless: true }).toFile(path.join(dir, 'webp.webp'));
  await solid.clone().tiff().toFile(path.join(dir, 'tiff.tiff'));
  await solid.clone().avif({ lossless: true }).toFile(path.join(dir, 'avif.avif'));
}

const BROKEN = ['corrupt.jpg', 'truncated.jpg', 'empty.png', 'text.jpg'];
const GOOD: Record<string, [number, number]> = {
  'one-pixel.png': [1, 1], 'panorama.png': [10000, 200], 'deep16.png': [4, 2], 'cmyk.jpg': [16, 16],
  'exif-rotated.jpg': [40, 60], 'alpha.png': [2, 1], 'grey.png': [2, 2], 'animated.gif': [8, 6],
  'webp.webp': [24, 16], 'tiff.tiff': [24, 16], 'avif.avif': [24, 16],
};

describe('decoding awkward images', () => {
  let dir: string;
  const read = (name: string) => decodeImage(readFileSync(path.join(dir, name)));
  beforeAll(async () => {
    dir = tempDir();
    await writeImageZoo(dir);
  });

  it.each(Object.entries(GOOD))('decodes %s to 8-bit RGB of its viewed size', async (name, [w, h]) => {
    const img = await read(name);
    expect([img.width, img.height]).toEqual([w, h]);
    expect(img.data.length).toBe(w * h * 3);
  });

  it('keeps the high byte of 16-bit samples', async () => {
    expect(Array.from((await read('deep16.png')).data.subarray(0, 3))).toEqual([0x12, 0x80, 0xff]);
  });

  it('repeats grey into three channels and drops alpha without compositing', async () => {
    expect(Array.from((await read('grey.png')).data)).toEqual([0, 0, 0, 100, 100, 100, 200, 200, 200, 255, 255, 255]);
    expect(Array.from((await read('alpha.png')).data)).toEqual([10, 20, 30, 40, 50, 60]);
  });

  it('converts CMYK to RGB', async () => {
    const [r, g, b] = (await read('cmyk.jpg')).data;
    expect(Math.abs(r - 0xc8)).toBeLessThan(24);
    expect(Math.abs(g - 0x64)).toBeLessThan(24);
    expect(Math.abs(b - 0x32)).toBeLessThan(24);
  });

  it('applies EXIF orientation: stored left/right halves become top/bottom', async () => {
    const img = await read('exif-rotated.jpg');
    const at = (x: number, y: number) => Array.from(img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));
    // Rotating 90° clockwise puts the stored left (red) half on top.
    expect(at(20, 5)[0]).toBeGreaterThan(200);
    expect(at(20, 5)[2]).toBeLessThan(60);
    expect(at(20, 55)[2]).toBeGreaterThan(200);
    expect(at(20, 55)[0]).toBeLessThan(60);
  });

  it('takes the first frame of an animated GIF', async () => {
    expect(Array.from((await read('animated.gif')).data.subarray(0, 3))).toEqual([255, 0, 0]);
  });

  it.each([
    ['corrupt.jpg', /Corrupt JPEG data/],
    ['truncated.jpg', /premature end of JPEG/],
    ['empty.png', /^empty file$/],
    ['text.jpg', /^not an image in a supported format$/],
  ])('rejects %s with a one-line cause', async (name, cause) => {
    const err = await read(name).then(() => undefined, (e) => e);
    expect(err).toBeInstanceOf(ImageDecodeError);
    expect(err.message).toMatch(cause);
    expect(err.message).not.toContain('\n');
  });

  it('runs the CLI over all of them: broken files listed, the rest written, exit 1', async () => {
    const out = tempDir();
    const res = await runCli([dir, '--out', out, '--model', TINY, '--points-per-side', '8']);
    expect(res.code).toBe(1);
    const failures = readFileSync(path.join(out, 'failures.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(failures.map((f) => path.basename(f.path)).sort()).toEqual([...BROKEN].sort());
    for (const name of BROKEN) {
      expect(res.stderr).toContain(`sam-amg: ${path.join(dir, name)}: `);
      expect(existsSync(path.join(out, name.replace(/\.\w+$/, '.json')))).toBe(false);
    }
    expect(res.stderr).toMatch(/15 images: 11 written, 0 already done, 4 failed, 1 non-image file skipped/);
    for (const [name, [w, h]] of Object.entries(GOOD)) {
      const file = JSON.parse(readFileSync(path.join(out, name.replace(/\.\w+$/, '.json')), 'utf8'));
      expect(file.image).toMatchObject({ width: w, height: h, file_name: name });
      for (const a of file.annotations) {
        const mask = rleToRowMajor({ size: a.segmentation.size, counts: decodeCountsString(a.segmentation.counts) });
        expect(a.segmentation.size).toEqual([h, w]);
        expect(mask.reduce((s: number, v: number) => s + v, 0)).toBe(a.area);
      }
    }
  });
});
