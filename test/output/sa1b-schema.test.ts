/**
 * The one schema every reader of outputs holds a per-image file to: one
 * case per rule, each with the exact message.
 */
import { closeSync, openSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSa1bFile } from '../../src/output/read-outputs.js';
import { checkRunIdentity, checkSa1bFile, countsStringArea, MAX_ANNOTATIONS, MAX_SA1B_FILE_BYTES } from '../../src/output/sa1b-schema.js';
import { decodeCountsString, encodeCountsString } from '../../src/rle/coco-string.js';
import { rleArea, rleFromColumnMajor } from '../../src/rle/rle.js';
import { tempDir } from '../helpers.js';

const identity = () => ({
  tool: 'sam-amg', version: '0.1.0', fingerprint: 'f'.repeat(64), format: 'json',
  model: { encoder: 'e'.repeat(64), decoder: 'd'.repeat(64), config: null },
  settings: { points_per_side: 32, sampling: 'hierarchical' },
});

/** A 4-wide, 3-high image with two masks; counts [2, 5, 5] are '255' (5 pixels). */
function good(): any {
  const annotation = (id: number) => ({
    id, segmentation: { size: [3, 4], counts: '255' }, area: 5, bbox: [0, 2, 2, 2],
    predicted_iou: 0.9, point_coords: [[1.5, 0.5]], stability_score: 0.95, crop_box: [0, 0, 4, 3],
  });
  return {
    image: { image_id: 123, width: 4, height: 3, file_name: 'a/scene.png' },
    annotations: [annotation(1), annotation(2), annotation(3)],
    info: { ...identity(), image_sha256: 'a'.repeat(64) },
  };
}

/** The message checkSa1bFile refuses `file` with. */
function refusal(file: unknown): string {
  try {
    checkSa1bFile(file);
  } catch (err) {
    return (err as Error).message;
  }
  return 'accepted';
}

/** A good file changed by `edit`, and its refusal. */
function refusalOf(edit: (f: any) => void): string {
  const f = good();
  edit(f);
  return refusal(f);
}

describe('checkSa1bFile', () => {
  it('accepts a good file and hands back the same object, with or without info', () => {
    const f = good();
    expect(checkSa1bFile(f)).toBe(f);
    delete f.info;
    expect(checkSa1bFile(f)).toBe(f);
    f.annotations = [];
    expect(checkSa1bFile(f)).toBe(f);
  });

  it('the file: an object with an image record or annotations', () => {
    expect(refusal(5)).toBe('not an SA-1B per-image file (expected an object, got 5)');
    expect(refusal(null)).toBe('not an SA-1B per-image file (expected an object, got null)');
    expect(refusal([1, 2])).toBe('not an SA-1B per-image file (expected an object, got [1,2])');
    expect(refusal({ hello: 1 })).toBe('not an SA-1B per-image file (no image record or annotations)');
    expect(refusalOf((f) => delete f.image)).toBe('image: missing');
    expect(refusalOf((f) => (f.image = 'x.png'))).toBe('image: expected an object, got "x.png"');
  });

  it('image.image_id: a safe non-negative integer', () => {
    expect(refusalOf((f) => (f.image.image_id = -1))).toBe('image.image_id: expected a non-negative integer, got -1');
    expect(refusalOf((f) => (f.image.image_id = 1.5))).toBe('image.image_id: expected a non-negative integer, got 1.5');
    expect(refusalOf((f) => (f.image.image_id = 2 ** 53))).toBe('image.image_id: expected a non-negative integer, got 9007199254740992');
    expect(refusalOf((f) => (f.image.image_id = '7'))).toBe('image.image_id: expected a non-negative integer, got "7"');
    expect(refusalOf((f) => (f.image.image_id = 0))).toBe('accepted');
  });

  it('image.width and height: positive integers, at most MAX_IMAGE_PIXELS together', () => {
    expect(refusalOf((f) => (f.image.width = 0))).toBe('image.width: expected a positive integer, got 0');
    expect(refusalOf((f) => delete f.image.height)).toBe('image.height: missing');
    expect(refusalOf((f) => (f.image.height = 2.5))).toBe('image.height: expected a positive integer, got 2.5');
    expect(refusalOf((f) => Object.assign(f.image, { width: 20000, height: 20000 })))
      .toBe('image: 20000×20000 = 400000000 pixels, more than the 268402689 an image may have');
  });

  it('image.file_name: a relative path of plain segments, at most 4096 characters', () => {
    const name = (n: unknown) => refusalOf((f) => (f.image.file_name = n));
    expect(name(7)).toBe('image.file_name: expected a string, got 7');
    expect(name(null)).toBe('image.file_name: expected a string, got null');
    expect(name('a\0b.png')).toBe('image.file_name: "a\\u0000b.png" is not a relative path of plain segments');
    expect(name('../../../tmp/x.png')).toBe('image.file_name: "../../../tmp/x.png" is not a relative path of plain segments');
    expect(name('/etc/x.png')).toBe('image.file_name: "/etc/x.png" is not a relative path of plain segments');
    expect(name('a//./b.png')).toBe('image.file_name: "a//./b.png" is not a relative path of plain segments');
    expect(name('')).toBe('image.file_name: "" is not a relative path of plain segments');
    expect(name(`${'x/'.repeat(40)}../y.png`)).toBe(`image.file_name: "${'x/'.repeat(30)}…" is not a relative path of plain segments`);
    expect(name('a'.repeat(4097))).toBe('image.file_name: 4097 characters, more than 4096');
    expect(name('a'.repeat(4096))).toBe('accepted');
  });

  it('annotations: an array of at most MAX_ANNOTATIONS', () => {
    expect(refusalOf((f) => delete f.annotations)).toBe('annotations: missing');
    expect(refusalOf((f) => (f.annotations = {}))).toBe('annotations: expected an array, got an object');
    expect(MAX_ANNOTATIONS).toBe(1_000_000);
    expect(refusalOf((f) => (f.annotations = new Array(MAX_ANNOTATIONS + 1))))
      .toBe('annotations: 1000001 annotations, more than 1000000');
    expect(refusalOf((f) => (f.annotations[1] = null))).toBe('annotations[1]: expected an object, got null');
  });

  it('annotation id: a positive safe integer', () => {
    expect(refusalOf((f) => (f.annotations[0].id = 0))).toBe('annotations[0].id: expected a positive integer, got 0');
    expect(refusalOf((f) => delete f.annotations[2].id)).toBe('annotations[2].id: missing');
  });

  it('segmentation: an object whose size is the image\'s [height, width]', () => {
    expect(refusalOf((f) => delete f.annotations[2].segmentation)).toBe('annotations[2].segmentation: missing');
    expect(refusalOf((f) => (f.annotations[0].segmentation.size = [4, 3])))
      .toBe('annotations[0].segmentation.size: expected [3, 4], the image\'s height and width, got [4,3]');
    expect(refusalOf((f) => (f.annotations[0].segmentation.size = '3x4')))
      .toBe('annotations[0].segmentation.size: expected [3, 4], the image\'s height and width, got "3x4"');
  });

  it('counts: a string (uncompressed RLE lists are not what sam-amg writes), of bounded length', () => {
    expect(refusalOf((f) => (f.annotations[0].segmentation.counts = [2, 5, 5])))
      .toBe('annotations[0].segmentation.counts: expected a string, got [2,5,5]');
    // 3×4 = 12 pixels: at most 13 runs of 6 characters.
    expect(refusalOf((f) => (f.annotations[0].segmentation.counts = '0'.repeat(79))))
      .toBe('annotations[0].segmentation.counts: 79 characters, more than the 78 a 3×4 mask can need');
  });

  it('counts: characters of COCO\'s alphabet, no run cut off, negative or overflowing', () => {
    const counts = (c: string) => refusalOf((f) => (f.annotations[1].segmentation.counts = c));
    expect(counts('2 5')).toBe('annotations[1].segmentation.counts: invalid character " " at 1');
    expect(counts('25~')).toBe('annotations[1].segmentation.counts: invalid character "~" at 2');
    // 'P' is 0x20, "more to come", as the last character.
    expect(counts('25P')).toBe('annotations[1].segmentation.counts: ends inside run 2 (from character 2)');
    // '@' is 0x10: the sign bit of a one-character number, -16.
    expect(counts('@')).toBe('annotations[1].segmentation.counts: run 0 at character 0 is negative (-16)');
    // The fourth run is a difference to the second: 5 - 6 = -1.
    expect(counts('255J')).toBe('annotations[1].segmentation.counts: run 3 at character 3 is negative (-1)');
    expect(counts('PPPPPPP0')).toBe('annotations[1].segmentation.counts: run 0 at character 0 overflows (more than 7 characters)');
  });

  it('counts: runs of 4×10⁹ pixels in 20 characters are refused at the first, in microseconds', () => {
    const huge = encodeCountsString([0, 4e9, 4e9, 4e9, 4e9, 4e9, 4e9, 4e9]);
    expect(huge).toBe('0PPZfVg3PPZfVg300000');
    expect(refusalOf((f) => (f.annotations[0].segmentation.counts = huge)))
      .toBe('annotations[0].segmentation.counts: run 1 at character 1 is 4000000000 pixels, more than 3×4 = 12');
    // CPU time of this process, not the clock: other processes on a busy machine do not count.
    const started = process.cpuUsage();
    for (let k = 0; k < 1000; k++) expect(() => countsStringArea(huge, 3, 4)).toThrow();
    // A decoder that made the runs' pixels (or even their list) would take seconds here.
    const used = process.cpuUsage(started);
    expect((used.user + used.system) / 1000).toBeLessThan(500);
  });

  it('counts: runs summing to exactly height×width', () => {
    const counts = (c: string) => refusalOf((f) => (f.annotations[0].segmentation.counts = c));
    expect(counts(encodeCountsString([2, 5, 4]))).toBe('annotations[0].segmentation.counts: runs sum to 11 pixels, not 3×4 = 12');
    expect(counts(encodeCountsString([2, 5, 6]))).toBe('annotations[0].segmentation.counts: runs sum to 13 pixels, not 3×4 = 12');
    expect(counts('')).toBe('annotations[0].segmentation.counts: runs sum to 0 pixels, not 3×4 = 12');
  });

  it('area: a non-negative integer, the RLE\'s foreground pixels', () => {
    expect(refusalOf((f) => (f.annotations[0].area = 4))).toBe('annotations[0].area: 4, but its mask has 5 pixels');
    expect(refusalOf((f) => (f.annotations[0].area = -1))).toBe('annotations[0].area: expected a non-negative integer, got -1');
    expect(refusalOf((f) => (f.annotations[0].area = '5'))).toBe('annotations[0].area: expected a non-negative integer, got "5"');
  });

  it('bbox and crop_box: 4 finite numbers', () => {
    expect(refusalOf((f) => (f.annotations[0].bbox = [1, 2, 3]))).toBe('annotations[0].bbox: expected 4 finite numbers, got [1,2,3]');
    expect(refusalOf((f) => (f.annotations[0].bbox = [1, 2, 3, null]))).toBe('annotations[0].bbox: expected 4 finite numbers, got [1,2,3,null]');
    expect(refusalOf((f) => (f.annotations[0].crop_box = '0,0,4,3'))).toBe('annotations[0].crop_box: expected 4 finite numbers, got "0,0,4,3"');
    expect(refusalOf((f) => delete f.annotations[1].crop_box)).toBe('annotations[1].crop_box: missing');
  });

  it('predicted_iou and stability_score: finite numbers, or null (JSON\'s NaN: an empty mask\'s stability is 0 / 0)', () => {
    expect(refusalOf((f) => (f.annotations[0].predicted_iou = '0.9'))).toBe('annotations[0].predicted_iou: expected a finite number or null, got "0.9"');
    const f = good();
    const text = JSON.stringify(f).replace('"stability_score":0.95', '"stability_score":1e400');
    expect(refusal(JSON.parse(text))).toBe('annotations[0].stability_score: expected a finite number or null, got Infinity');
    expect(refusalOf((g) => delete g.annotations[2].stability_score)).toBe('annotations[2].stability_score: missing');
    expect(refusalOf((g) => (g.annotations[1].stability_score = NaN))).toBe('annotations[1].stability_score: expected a finite number or null, got NaN');
    expect(refusalOf((g) => Object.assign(g.annotations[1], { stability_score: null, predicted_iou: null }))).toBe('accepted');
  });

  it('point_coords: a non-empty array of [x, y] pairs of finite numbers', () => {
    expect(refusalOf((f) => delete f.annotations[1].point_coords)).toBe('annotations[1].point_coords: missing');
    expect(refusalOf((f) => (f.annotations[0].point_coords = []))).toBe('annotations[0].point_coords: expected a non-empty array of [x, y] pairs, got []');
    expect(refusalOf((f) => (f.annotations[0].point_coords = [[1, 2], [1]]))).toBe('annotations[0].point_coords[1]: expected 2 finite numbers, got [1]');
    expect(refusalOf((f) => (f.annotations[0].point_coords = [1, 2]))).toBe('annotations[0].point_coords[0]: expected 2 finite numbers, got 1');
  });

  it('the first bad field in file order is the one named', () => {
    expect(refusalOf((f) => {
      f.annotations[2].area = 0;
      delete f.annotations[1].bbox;
      f.info.fingerprint = 5;
    })).toBe('annotations[1].bbox: missing');
  });

  it('info, when present: the run\'s identity and the image\'s SHA-256', () => {
    expect(refusalOf((f) => (f.info = 'x'))).toBe('info: expected an object, got "x"');
    expect(refusalOf((f) => (f.info.fingerprint = 5))).toBe('info.fingerprint: expected a string, got 5');
    expect(refusalOf((f) => delete f.info.image_sha256)).toBe('info.image_sha256: missing');
    expect(refusalOf((f) => (f.info.format = 'tiff'))).toBe('info.format: expected "json" or "png", got "tiff"');
    expect(refusalOf((f) => (f.info.model.encoder = null))).toBe('info.model.encoder: expected a string, got null');
    expect(refusalOf((f) => (f.info.model.config = 3))).toBe('info.model.config: expected a string or null, got 3');
    expect(refusalOf((f) => (f.info.settings.points_per_side = null))).toBe('info.settings.points_per_side: expected a number or a string, got null');
    expect(refusalOf((f) => (f.info.model.config = 'c'.repeat(64)))).toBe('accepted');
  });
});

describe('checkRunIdentity (the run manifest)', () => {
  it('names the first bad field of a manifest', () => {
    expect(checkRunIdentity(identity())).toEqual(identity());
    expect(() => checkRunIdentity(5)).toThrow(/^expected an object, got 5$/);
    expect(() => checkRunIdentity({ ...identity(), fingerprint: 5 })).toThrow(/^fingerprint: expected a string, got 5$/);
    expect(() => checkRunIdentity({ ...identity(), settings: 'x' })).toThrow(/^settings: expected an object, got "x"$/);
    expect(() => checkRunIdentity({ ...identity(), model: [] })).toThrow(/^model: expected an object, got \[\]$/);
  });
});

describe('countsStringArea', () => {
  it('gives the foreground of every mask the encoder writes, as rleArea does', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let k = 0; k < 200; k++) {
      const h = 1 + Math.floor(random() * 40);
      const w = 1 + Math.floor(random() * 40);
      const density = random();
      const mask = new Uint8Array(h * w).map(() => (random() < density ? 1 : 0));
      const rle = rleFromColumnMajor(mask, h, w);
      expect(countsStringArea(encodeCountsString(rle.counts), h, w)).toBe(rleArea(rle));
    }
    // The largest image: a run just under 2^28 takes 6 characters.
    const [h, w] = [16383, 16383];
    expect(countsStringArea(encodeCountsString([1, h * w - 2, 1]), h, w)).toBe(h * w - 2);
  });
  it('refuses exactly the strings that decodeCountsString refuses or decodes to no 3×4 mask (20 000 random strings)', () => {
    let seed = 11;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    let valid = 0;
    for (let k = 0; k < 20_000; k++) {
      // Mostly small one-character runs, so some strings sum to 12; any character of the alphabet and a few outside it.
      const length = 1 + Math.floor(random() * 8);
      let text = '';
      for (let i = 0; i < length; i++) text += String.fromCharCode(random() < 0.7 ? 48 + Math.floor(random() * 8) : 46 + Math.floor(random() * 68));
      let expected: number | undefined;
      try {
        const runs = decodeCountsString(text);
        if (runs.every((r) => r <= 12) && runs.reduce((a, b) => a + b, 0) === 12) expected = rleArea({ size: [3, 4], counts: runs });
      } catch {
        // Refused by the reference decoder: refused here too.
      }
      let got: number | undefined;
      try {
        got = countsStringArea(text, 3, 4);
      } catch {
        // Refused.
      }
      expect(got, JSON.stringify(text)).toBe(expected);
      if (expected !== undefined) valid++;
    }
    expect(valid).toBeGreaterThan(100);
  });
});

describe('readSa1bFile', () => {
  const dir = tempDir();

  it('names the file and the first bad field; a COCO file is no per-image file', async () => {
    const bad = path.join(dir, 'bad.json');
    const f = good();
    f.annotations[1].segmentation.counts = '255P';
    writeFileSync(bad, JSON.stringify(f));
    await expect(readSa1bFile(bad)).rejects.toThrow(`${bad}: annotations[1].segmentation.counts: ends inside run 3 (from character 3)`);
    const coco = path.join(dir, 'coco.json');
    writeFileSync(coco, JSON.stringify({ images: [], annotations: [] }));
    expect(await readSa1bFile(coco)).toBeUndefined();
    const fine = path.join(dir, 'fine.json');
    writeFileSync(fine, JSON.stringify(good()));
    expect(await readSa1bFile(fine)).toEqual(good());
  });

  it('refuses a file over MAX_SA1B_FILE_BYTES unread, but skips a merge kept in the folder', async () => {
    expect(MAX_SA1B_FILE_BYTES).toBe(256 * 2 ** 20);
    // Sparse: no disk space, and read it would take seconds.
    const big = path.join(dir, 'big.json');
    writeFileSync(big, '{"image":');
    truncateSync(big, MAX_SA1B_FILE_BYTES + 2 ** 20);
    // CPU time of this process (its I/O threads too), not the clock: other processes on a busy machine do not count.
    const started = process.cpuUsage();
    await expect(readSa1bFile(big)).rejects.toThrow(`${big}: 257.0 MiB, more than the 256 MiB a per-image file may hold`);
    const used = process.cpuUsage(started);
    expect((used.user + used.system) / 1000).toBeLessThan(200);
    const merge = path.join(dir, 'merge.json');
    const fd = openSync(merge, 'w');
    writeSync(fd, '{"info":{"description":"sam-amg automatic masks","version":"0.1.0"');
    closeSync(fd);
    truncateSync(merge, MAX_SA1B_FILE_BYTES + 1);
    expect(await readSa1bFile(merge)).toBeUndefined();
  });
});
