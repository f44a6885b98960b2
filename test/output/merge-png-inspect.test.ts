import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { METADATA_HEADER } from '../../src/output/png-folder.js';
import { pythonFloatStr } from '../../src/output/python-str.js';
import { decodeCountsString } from '../../src/rle/coco-string.js';
import { rleToRowMajor } from '../../src/rle/rle.js';
import { runCli, tempDir, TINY, writeScenes } from '../helpers.js';

const FAST = ['--model', TINY, '--points-per-side', '6'];
/** [x, y, w, h] of the foreground pixels of a row-major mask, w = last column - first column + 1; [0, 0, 0, 0] when empty. */
function pixelExtent(mask: Uint8Array, width: number): number[] {
  let [x0, y0, x1, y1] = [Infinity, Infinity, -1, -1];
  mask.forEach((v, k) => {
    if (!v) return;
    const x = k % width;
    const y = Math.floor(k / width);
    [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
  });
  return x1 < 0 ? [0, 0, 0, 0] : [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
}

const decode = (seg: { size: [number, number]; counts: string }) =>
  rleToRowMajor({ size: seg.size, counts: decodeCountsString(seg.counts) });

describe("Python's str() of floats", () => {
  it.each([
    [100, '100.0'], [0.1, '0.1'], [1e-5, '1e-05'], [1.5e16, '1.5e+16'], [123456789012345.6, '123456789012345.6'],
    [0.0001, '0.0001'], [1e16, '1e+16'], [12345678901234567, '1.2345678901234568e+16'], [-2.5, '-2.5'],
    [0.00012345, '0.00012345'], [9999999999999998, '9999999999999998.0'], [0.9634146094322205, '0.9634146094322205'],
    [3.0517578125e-5, '3.0517578125e-05'], [5e-324, '5e-324'], [1e22, '1e+22'],
  ])('%s -> %s (values from Python 3.11)', (x, s) => {
    expect(pythonFloatStr(x)).toBe(s);
  });
});

describe('merge, PNG format and inspect', () => {
  let input: string;
  let jsonOut: string;
  const perImage = (dir: string) => readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /scene-\d+\.json$/.test(e.name))
    .map((e) => JSON.parse(readFileSync(path.join(e.parentPath, e.name), 'utf8')));

  beforeAll(async () => {
    input = tempDir();
    await writeScenes(input, 12);
    jsonOut = tempDir();
    expect((await runCli([input, '--out', jsonOut, ...FAST])).code).toBe(0);
    // A run of 12 images: seconds on an idle machine, past the minute hooks get on a busy one.
  }, 180_000);

  it('merges the per-image files into one COCO file whose RLEs decode to the same masks', async () => {
    const coco = path.join(jsonOut, 'annotations.json');
    for (let round = 0; round < 2; round++) {
      // The second round has the first merge inside the folder: it is not taken for an image.
      const res = await runCli(['merge', jsonOut, '--coco', coco]);
      expect(res.code, res.stderr).toBe(0);
      const merged = JSON.parse(readFileSync(coco, 'utf8'));
      const files = perImage(jsonOut);
      const total = files.reduce((n, f) => n + f.annotations.length, 0);
      expect(res.stderr).toBe(`sam-amg: merged 12 images and ${total} annotations into ${coco}\n`);
      expect(merged.categories).toEqual([{ id: 1, name: 'object', supercategory: 'object' }]);
      expect(merged.images.length).toBe(12);
      expect(merged.annotations.map((a: { id: number }) => a.id)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      const byImage = new Map(files.map((f) => [f.image.image_id, f]));
      for (const img of merged.images) {
        const f = byImage.get(img.id);
        expect(img).toEqual({ id: f.image.image_id, width: f.image.width, height: f.image.height, file_name: f.image.file_name });
      }
      const seen = new Map<number, number>();
      let boxes = 0;
      for (const a of merged.annotations) {
        const f = byImage.get(a.image_id);
        const k = seen.get(a.image_id) ?? 0;
        seen.set(a.image_id, k + 1);
        const original = f.annotations[k];
        expect(a).toMatchObject({ category_id: 1, iscrowd: 0, area: original.area,
          predicted_iou: original.predicted_iou, stability_score: original.stability_score, crop_box: original.crop_box });
        const mask = decode(a.segmentation);
        expect(Array.from(mask)).toEqual(Array.from(decode(original.segmentation)));
        // COCO's box is the mask's pixel extent, as pycocotools' toBbox gives it; SAM's, in the SA-1B file, is one pixel smaller.
        expect(a.bbox).toEqual(pixelExtent(mask, a.segmentation.size[1]));
        expect(a.bbox).toEqual([original.bbox[0], original.bbox[1], original.bbox[2] + 1, original.bbox[3] + 1]);
        boxes++;
      }
      expect(boxes).toBeGreaterThan(10);
    }
  });

  it('writes the reference amg.py layout with --format png, masks equal to the JSON masks', async () => {
    const pngOut = tempDir();
    const res = await runCli([input, '--out', pngOut, ...FAST, '--format', 'png']);
    expect(res.code, res.stderr).toBe(0);
    for (const f of perImage(jsonOut)) {
      const folder = path.join(pngOut, f.image.file_name.replace(/\.png$/, ''));
      const names = readdirSync(folder).sort();
      expect(names).toEqual([...f.annotations.map((_: unknown, i: number) => `${i}.png`), '.sam-amg.json', 'metadata.csv'].sort());
      const csv = readFileSync(path.join(folder, 'metadata.csv'), 'utf8').split('\n');
      expect(csv[0]).toBe(METADATA_HEADER);
      expect(csv.length).toBe(f.annotations.length + 1);
      for (const [i, a] of f.annotations.entries()) {
        const file = path.join(folder, `${i}.png`);
        const meta = await sharp(file).metadata();
        expect([meta.width, meta.height, meta.channels, meta.depth]).toEqual([f.image.width, f.image.height, 1, 'uchar']);
        const data = await sharp(file).extractChannel(0).raw().toBuffer();
        const expected = decode(a.segmentation).map((v) => v * 255);
        expect(Buffer.from(data).equals(Buffer.from(expected))).toBe(true);
        expect(csv[i + 1]).toBe([i, a.area, ...a.bbox, ...a.point_coords[0].map(pythonFloatStr),
          pythonFloatStr(a.predicted_iou), pythonFloatStr(a.stability_score), ...a.crop_box].join(','));
      }
    }
    // Resuming works for folders too; a JSON run into the same folder is refused.
    const again = await runCli([input, '--out', pngOut, ...FAST, '--format', 'png', '--json']);
    expect(again.stdout).not.toContain('"image_done"');
    const mixed = await runCli([input, '--out', pngOut, ...FAST]);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain('holds masks made with format png, not json');
  });

  it('summarises a run and draws an overlay per image', async () => {
    const res = await runCli(['inspect', jsonOut, '--json']);
    expect(res.code).toBe(0);
    const report = JSON.parse(res.stdout);
    const files = perImage(jsonOut);
    const total = files.reduce((n, f) => n + f.annotations.length, 0);
    expect(report).toMatchObject({ images: 12, masks: total });
    expect(report.masks_per_image.mean).toBeCloseTo(total / 12, 10);
    expect(report.predicted_iou.min).toBe(Math.min(...files.flatMap((f) => f.annotations.map((a: { predicted_iou: number }) => a.predicted_iou))));
    const text = await runCli(['inspect', path.join(jsonOut, 'a/scene-000.json')]);
    expect(text.stdout).toMatch(/^images +1 \(0 without masks\)\nmasks +\d+\n/);

    const viz = tempDir();
    const drawn = await runCli(['inspect', jsonOut, '--viz', viz, '--images', input]);
    expect(drawn.code, drawn.stderr).toBe(0);
    const meta = await sharp(path.join(viz, 'a/scene-000.png')).metadata();
    expect([meta.width, meta.height]).toEqual([64, 48]);
    const original = await sharp(path.join(input, 'a/scene-000.png')).raw().toBuffer();
    const overlay = await sharp(path.join(viz, 'a/scene-000.png')).raw().toBuffer();
    expect(original.equals(overlay)).toBe(false);

    const noImages = await runCli(['inspect', jsonOut, '--viz', viz]);
    expect(noImages.code).toBe(2);
    expect(noImages.stderr).toBe('sam-amg: --viz needs --images DIR, the folder the images were read from\n');
  });

  it('reports a broken per-image file in merge and exits 1', async () => {
    const out = tempDir();
    expect((await runCli([input, '--out', out, ...FAST, '--json'])).code).toBe(0);
    writeFileSync(path.join(out, 'a/scene-001.json'), '{"image": ');
    const res = await runCli(['merge', out, '--coco', path.join(out, 'all.json')]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`sam-amg: ${path.join(out, 'a/scene-001.json')}: not valid JSON`);
    expect(res.stderr).toContain('merged 11 images');
    expect(existsSync(path.join(out, 'all.json'))).toBe(true);
  });
});
