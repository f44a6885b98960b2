import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, ImageDecodeError } from '../../src/image/decode.js';
import type { RgbImage } from '../../src/image/rgb-image.js';
import { SamOnnxModel } from '../../src/model/sam-onnx.js';
import { ROOT, runCli, tempDir, TINY, writeScenes } from '../helpers.js';

const READS = 'sam-amg reads JPEG, PNG, WebP, TIFF, AVIF and GIF';
const SVG_16000 = '<svg xmlns="http://www.w3.org/2000/svg" width="16000" height="16000"><rect width="16000" height="16000" fill="red"/></svg>';
const overLimit = (w: number, h: number) => `image of ${w}×${h} pixels is larger than the 268-megapixel limit`;
const tooThin = (w: number, h: number, input: number) => `${w}×${h} pixels are too thin: the short side scales to 0 pixels at the model's ${input}-pixel input`;

// ---- Files whose headers claim what a test needs, written byte by byte.

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v);
  return b;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  return Buffer.concat([u32(data.length), typed, u32(crc32(typed))]);
}

/** A PNG whose IHDR (valid CRC) says width × height RGB, with one row of pixel data: decoding it fails, reading its header does not. */
function pngClaiming(width: number, height: number): Buffer {
  const ihdr = Buffer.concat([u32(width), u32(height), Buffer.from([8, 2, 0, 0, 0])]);
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(Buffer.alloc(1 + 3 * 16))), pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

const box = (type: string, ...parts: Buffer[]) => {
  const body = Buffer.concat(parts);
  return Buffer.concat([u32(8 + body.length), Buffer.from(type, 'latin1'), body]);
};
const fullBox = (type: string, version: number, ...parts: Buffer[]) => box(type, Buffer.from([version, 0, 0, 0]), ...parts);

/** A HEIF file of one 64×48 image item of `itemType` (its coding property, if any, first), branded `brand`. */
function heif(itemType: string, brand: string, payload: Buffer, coding?: Buffer): Buffer {
  const properties = [...(coding ? [coding] : []), fullBox('ispe', 0, u32(64), u32(48))];
  const meta = (dataAt: number) => fullBox('meta', 0,
    fullBox('hdlr', 0, u32(0), Buffer.from('pict'), u32(0), u32(0), u32(0), Buffer.from([0])),
    fullBox('pitm', 0, u16(1)),
    // 32-bit offsets and lengths, no base offset; item 1 in one extent.
    fullBox('iloc', 0, Buffer.from([0x44, 0x00]), u16(1), u16(1), u16(0), u16(1), u32(dataAt), u32(payload.length)),
    fullBox('iinf', 0, u16(1), fullBox('infe', 2, u16(1), u16(0), Buffer.from(itemType, 'latin1'), Buffer.from([0]))),
    box('iprp', box('ipco', ...properties),
      fullBox('ipma', 0, u32(1), u16(1), Buffer.from([properties.length, ...properties.map((_, i) => 0x81 + i)]))));
  const ftyp = box('ftyp', Buffer.from(brand, 'latin1'), u32(0), Buffer.from('mif1'), Buffer.from(brand, 'latin1'));
  const dataAt = ftyp.length + meta(0).length + 8;
  return Buffer.concat([ftyp, meta(dataAt), box('mdat', payload)]);
}

/** A minimal HEVC decoder configuration (no parameter sets): enough for the header to parse. */
const HVCC = box('hvcC', Buffer.from([1, 1]), u32(0x60000000), Buffer.from([0x90, 0, 0, 0, 0, 0, 90]), u16(0xf000),
  Buffer.from([0xfc, 0xfd, 0xf8, 0xf8]), u16(0), Buffer.from([0x0f, 0]));

/** The JPEG with its frame header (SOF0) saying width × height instead. */
function withJpegSize(jpeg: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(jpeg);
  const sof = out.indexOf(Buffer.from([0xff, 0xc0]));
  out.writeUInt16BE(height, sof + 5);
  out.writeUInt16BE(width, sof + 7);
  return out;
}

/** The little-endian TIFF with a second page appended whose header says width × height (its strip is never there). */
function withSecondPage(tiff: Buffer, width: number, height: number): Buffer {
  const first = tiff.readUInt32LE(4);
  const nextAt = first + 2 + 12 * tiff.readUInt16LE(first);
  const at = tiff.length + (tiff.length % 2);
  // [tag, type (3 SHORT, 4 LONG), value], in tag order: one grey 8-bit strip, uncompressed.
  const entries: [number, number, number][] = [
    [256, 4, width], [257, 4, height], [258, 3, 8], [259, 3, 1], [262, 3, 1],
    [273, 4, 0], [277, 3, 1], [278, 4, height], [279, 4, width * height],
  ];
  const ifd = Buffer.alloc(2 + 12 * entries.length + 4);
  ifd.writeUInt16LE(entries.length, 0);
  entries.forEach(([tag, type, value], i) => {
    ifd.writeUInt16LE(tag, 2 + 12 * i);
    ifd.writeUInt16LE(type, 4 + 12 * i);
    ifd.writeUInt32LE(1, 6 + 12 * i);
    if (type === 3) ifd.writeUInt16LE(value, 10 + 12 * i);
    else ifd.writeUInt32LE(value, 10 + 12 * i);
  });
  const out = Buffer.concat([tiff, Buffer.alloc(at - tiff.length), ifd]);
  out.writeUInt32LE(at, nextAt);
  return out;
}

const solid = (width: number, height: number) => sharp({ create: { width, height, channels: 3, background: '#20c040' } });

async function refusal(input: string | Uint8Array): Promise<ImageDecodeError> {
  const err = await decodeImage(input).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ImageDecodeError);
  return err as ImageDecodeError;
}

describe('decodeImage reads only the documented formats', () => {
  it('refuses an SVG from its header, without rendering its 16000×16000 pixels', async () => {
    // CPU time of this process (libvips' threads too), not the clock: other processes on a busy machine do not count.
    const started = process.cpuUsage();
    expect((await refusal(Buffer.from(SVG_16000))).message).toBe(`an SVG image; ${READS}`);
    // Rendering it took 3.4 s and 1.1 GB; the header alone takes milliseconds.
    const used = process.cpuUsage(started);
    expect((used.user + used.system) / 1000).toBeLessThan(1000);
  });

  it('refuses a HEIC image (HEVC-coded item) by its header', async () => {
    const heic = heif('hvc1', 'heic', Buffer.alloc(16, 0x55), HVCC);
    expect((await sharp(heic).metadata()).format).toBe('heif');
    expect((await refusal(heic)).message).toBe(`a HEIC image; ${READS}`);
  });

  it('refuses a HEIF branded avif whose image is not AV1 (sharp calls it av1 from the brand)', async () => {
    const jpegInHeif = heif('jpeg', 'avif', await solid(64, 48).jpeg().toBuffer());
    expect((await sharp(jpegInHeif).metadata()).compression).toBe('av1');
    expect((await refusal(jpegInHeif)).message).toBe(`a HEIF image coded as 'jpeg'; ${READS}`);
  });

  it('reads an AVIF whose major brand is mif1 (sharp calls it hevc from the brand)', async () => {
    const avif = await solid(24, 16).avif({ lossless: true }).toBuffer();
    const mif1 = Buffer.from(avif);
    mif1.write('mif1', 8, 'latin1');
    expect((await sharp(mif1).metadata()).compression).toBe('hevc');
    const image = await decodeImage(mif1);
    expect([image.width, image.height, ...image.data.subarray(0, 3)]).toEqual([24, 16, 0x20, 0xc0, 0x40]);
  });

  it('reads a named file once: a libvips .v file, which sharp reads only from a path, is not decoded', async () => {
    const file = path.join(tempDir(), 'image.v');
    await solid(5, 4).toFile(file);
    expect((await refusal(file)).message).toBe('not an image in a supported format');
    expect((await refusal(path.join(path.dirname(file), 'missing.png'))).message).toBe('file not found');
  });
});

describe('decodeImage holds every format to the pixel limit, from the header', () => {
  it('refuses a PNG whose header claims 20000×20000 before decoding it (its pixel data is one row)', async () => {
    expect((await refusal(pngClaiming(20000, 20000))).message).toBe(overLimit(20000, 20000));
  });

  it('draws the line at 16383² pixels: one row more is refused, the limit itself goes on to decoding', async () => {
    expect((await refusal(pngClaiming(16383, 16384))).message).toBe(overLimit(16383, 16384));
    // At the limit the header passes; the decoder then finds the missing rows.
    expect((await refusal(pngClaiming(16383, 16383))).message).toMatch(/libspng read error/);
  });

  it('names the size as viewed: a JPEG stored 20000×14000 with EXIF orientation 6', async () => {
    const rotated = await solid(16, 16).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    expect((await refusal(withJpegSize(rotated, 20000, 14000))).message).toBe(overLimit(14000, 20000));
  });

  it('counts only the page decoded: a TIFF whose second page claims 30000×30000 gives its first', async () => {
    const tiff = withSecondPage(await solid(8, 6).tiff().toBuffer(), 30000, 30000);
    expect((await sharp(tiff).metadata()).pages).toBe(2);
    const image = await decodeImage(tiff);
    expect([image.width, image.height]).toEqual([8, 6]);
  });
});

const rgb = (width: number, height: number): RgbImage => ({ width, height, data: new Uint8Array(width * height * 3).fill(128) });

describe('thin images at the model input', () => {
  const models: SamOnnxModel[] = [];
  const load = async (dir: string) => {
    const model = await SamOnnxModel.loadDir(path.join(ROOT, 'fixtures/models', dir));
    models.push(model);
    return model;
  };
  afterAll(async () => {
    for (const model of models) await model.release();
  });

  it('letterboxing models refuse a short side that scales to 0 (the reference\'s int(side · scale + 0.5))', async () => {
    const tiny = await load('tiny');
    const refused = async (w: number, h: number) => (await tiny.embed(rgb(w, h)).then(() => 'embedded', (e: Error) => e.message));
    // 1 · 1024 / 2048 + 0.5 = 1: the widest image of one row; 2049 is too wide.
    expect(await refused(2048, 1)).toBe('embedded');
    expect(await refused(1, 2048)).toBe('embedded');
    expect(await refused(2049, 1)).toBe(tooThin(2049, 1, 1024));
    expect(await refused(1, 2049)).toBe(tooThin(1, 2049, 1024));
    expect(await refused(3000, 2)).toBe('embedded');
    expect(await refused(4097, 2)).toBe(tooThin(4097, 2, 1024));
  });

  it('the bound follows the encoder\'s size: EfficientViT-SAM\'s 512 refuses what SAM\'s 1024 takes', async () => {
    const evit = await load('families/efficientvit-sam');
    expect(evit.inputSize).toBe(512);
    await expect(evit.embed(rgb(1024, 1))).resolves.toBeDefined();
    await expect(evit.embed(rgb(3000, 2))).rejects.toThrow(tooThin(3000, 2, 512));
  });

  it('SAM 2 stretches every image to its square input, as its reference does: thin ones embed', async () => {
    const sam2 = await load('families/sam2');
    await expect(sam2.embed(rgb(1, 3000))).resolves.toBeDefined();
    await expect(sam2.embed(rgb(100000, 2))).resolves.toBeDefined();
  });
});

describe('the CLI over bounded inputs', () => {
  let dir: string;
  const refused: Record<string, string> = {
    'vector.png': `an SVG image; ${READS}`,
    'huge.png': overLimit(20000, 20000),
    'thin-1x3000.png': tooThin(1, 3000, 1024),
    'thin-3000x1.png': tooThin(3000, 1, 1024),
    'thin-100000x2.png': tooThin(100000, 2, 1024),
    'thin-2x100000.png': tooThin(2, 100000, 1024),
  };
  const processed: Record<string, [number, number]> = {
    'thin-1x2048.png': [1, 2048], 'thin-2048x1.png': [2048, 1], 'thin-2x3000.png': [2, 3000], 'thin-3000x2.png': [3000, 2],
  };

  beforeAll(async () => {
    dir = tempDir();
    await writeScenes(dir, 1);
    writeFileSync(path.join(dir, 'vector.png'), SVG_16000);
    writeFileSync(path.join(dir, 'huge.png'), pngClaiming(20000, 20000));
    for (const name of [...Object.keys(refused), ...Object.keys(processed)].filter((n) => n.startsWith('thin-'))) {
      const [w, h] = name.match(/(\d+)x(\d+)/)!.slice(1).map(Number);
      const ramp = Buffer.alloc(w * h * 3).map((_, i) => (i * 7) % 256);
      await sharp(ramp, { raw: { width: w, height: h, channels: 3 } }).png().toFile(path.join(dir, name));
    }
  });

  it('refuses each in one line naming file and cause, writes the rest, exits 1', async () => {
    const out = tempDir();
    const res = await runCli([dir, '--out', out, '--model', TINY, '--points-per-side', '4']);
    expect(res.code).toBe(1);
    expect(res.stderr).not.toMatch(/^\s+at /m);
    const imageLines = res.stderr.split('\n').filter((l) => l.startsWith(`sam-amg: ${dir}`));
    expect(imageLines.sort()).toEqual(Object.entries(refused).map(([name, cause]) => `sam-amg: ${path.join(dir, name)}: ${cause}`).sort());
    const failures = readFileSync(path.join(out, 'failures.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(failures.map((f) => [path.basename(f.path), f.reason]).sort()).toEqual(Object.entries(refused).sort());
    const written = { 'a/scene-000.png': [64, 48], ...processed };
    for (const [name, [w, h]] of Object.entries(written)) {
      const file = JSON.parse(readFileSync(path.join(out, name.replace(/\.png$/, '.json')), 'utf8'));
      expect(file.image).toMatchObject({ width: w, height: h, file_name: name });
      for (const a of file.annotations) expect(a.segmentation.size).toEqual([h, w]);
    }
  });
});
