import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { imageIdFor } from '../../src/output/sa1b.js';
import { decodeCountsString } from '../../src/rle/coco-string.js';
import { rleToRowMajor } from '../../src/rle/rle.js';
import { SETTING_SPECS } from '../../src/settings/settings.js';
import { PHOTO_NAMES, PHOTOS, runCli, tempDir, TINY, TINY_BATCHED } from '../helpers.js';

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

describe('sam-amg on the photo fixtures with the tiny model', () => {
  let out: string;
  let result: Awaited<ReturnType<typeof runCli>>;
  beforeAll(async () => {
    out = tempDir();
    // 16 points per side: these tests check the files and their plumbing, not how many masks a grid finds.
    result = await runCli([PHOTOS, '--out', out, '--model', TINY, '--points-per-side', '16']);
  }, 300_000);

  it('writes one SA-1B JSON per photo and exits 0', () => {
    expect(result.code, result.stderr).toBe(0);
    expect(filesUnder(out)).toEqual(['.sam-amg-run.json', ...PHOTO_NAMES.map((n) => `${n}.json`)]);
    // Progress lines may come first (every 10 s when stderr is not a terminal); the summary is last.
    // 3 images of 16² prompts each.
    expect(result.stderr).toMatch(/\nsam-amg: 3 images: 3 written, 0 already done, 0 failed; \d+ masks from 768 prompts in [\d.]+ s \([\d.]+ images\/s\)\n$|^sam-amg: 3 images: 3 written, 0 already done, 0 failed; \d+ masks from 768 prompts in [\d.]+ s \([\d.]+ images\/s\)\n$/);
  });

  it('decodes every segmentation to an image-sized mask matching area and bbox', () => {
    let masks = 0;
    for (const name of PHOTO_NAMES) {
      const file = JSON.parse(readFileSync(path.join(out, `${name}.json`), 'utf8'));
      expect(Object.keys(file)).toEqual(['image', 'annotations', 'info']);
      expect(file.info).toMatchObject({ tool: 'sam-amg', format: 'json', settings: { points_per_side: 16, pred_iou_thresh: 0.88 } });
      const { width: w, height: h, file_name, image_id } = file.image;
      expect(file_name).toBe(`${name}.jpg`);
      expect(image_id).toBe(imageIdFor(file_name));
      // sha256("meadow.jpg")'s first 53 bits, from Python's hashlib.
      if (name === 'meadow') expect(image_id).toBe(3209958845951814);
      for (const [k, a] of file.annotations.entries()) {
        masks++;
        expect(Object.keys(a).sort()).toEqual(
          ['area', 'bbox', 'crop_box', 'id', 'point_coords', 'predicted_iou', 'segmentation', 'stability_score'],
        );
        expect(a.id).toBe(k + 1);
        expect(a.segmentation.size).toEqual([h, w]);
        const m = rleToRowMajor({ size: a.segmentation.size, counts: decodeCountsString(a.segmentation.counts) });
        let count = 0, x0 = w, y0 = h, x1 = -1, y1 = -1;
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            if (!m[y * w + x]) continue;
            count++;
            x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
          }
        }
        expect(count).toBe(a.area);
        expect(a.bbox).toEqual([x0, y0, x1 - x0, y1 - y0]);
        expect(a.crop_box).toEqual([0, 0, w, h]);
      }
    }
    expect(masks).toBeGreaterThan(0);
  });

  it('leaves no temporary files behind', () => {
    expect(filesUnder(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('writes the same masks with post-processing on two worker threads, 8 prompts a decoder call and the exported decoder graph', async () => {
    const other = tempDir();
    // The batched twin of the tiny model takes several prompts a call and answers as the batch-1 one does.
    const res = await runCli([PHOTOS, '--out', other, '--model', TINY_BATCHED, '--points-per-side', '16', '--postprocess-workers', '2',
      '--prompts-per-call', '8', '--decoder-graph', 'whole']);
    expect(res.code, res.stderr).toBe(0);
    for (const name of PHOTO_NAMES) {
      const read = (dir: string) => JSON.parse(readFileSync(path.join(dir, `${name}.json`), 'utf8')).annotations;
      expect(read(other), name).toEqual(read(out));
    }
  }, 300_000);
});

describe('usage errors: one line, exit 2', () => {
  const img = path.join(PHOTOS, 'meadow.jpg');
  it.each([
    [['--points-per-side', 'abc'], 'sam-amg: Expected integer in [1, 1024] for --points-per-side but received abc of type string'],
    [['--pred-iou-thresh', '1.5'], 'sam-amg: Expected number in [0, 1] for --pred-iou-thresh but received 1.5 of type string'],
    [['--crop-n-layers', '-1'], 'sam-amg: Expected integer in [0, 6] for --crop-n-layers but received -1 of type string'],
    [['--min-mask-region-area', '2.5'], 'sam-amg: Expected non-negative integer for --min-mask-region-area but received 2.5 of type string'],
    [['--crop-overlap-ratio', '1'], 'sam-amg: Expected number in [0, 1) for --crop-overlap-ratio but received 1 of type string'],
    [['--threads', '0'], 'sam-amg: Expected integer in [1, 1024] for --threads but received 0 of type string'],
    [['--postprocess-workers', '-1'], 'sam-amg: Expected integer in [0, 256] for --postprocess-workers but received -1 of type string'],
    [['--download-timeout', '0'], 'sam-amg: Expected number in (0, 86400] for --download-timeout but received 0 of type string'],
    [['--download-limit', 'big'], 'sam-amg: Expected number in (0, 1048576] for --download-limit but received big of type string'],
    [['--download-retries', '1.5'], 'sam-amg: Expected integer in [0, 100] for --download-retries but received 1.5 of type string'],
  ])('%j', async (flags, message) => {
    const res = await runCli([img, '--out', tempDir(), '--model', TINY, ...flags]);
    expect(res.code).toBe(2);
    expect(res.stderr).toBe(`${message}\n`);
  });

  it.each([
    [['--out', '/tmp/x', '--model', TINY], /^sam-amg: no inputs: name image files, folders or patterns, or pass --list FILE\n$/],
    [[img, '--model', TINY], /^sam-amg: no output folder: pass --out DIR\n$/],
    [[img, '--out', '/tmp/x', '--bogus'], /^sam-amg: unknown option '--bogus' \(see sam-amg --help\)\n$/],
    [[img, '--out', '/tmp/x', '--preset', 'fastest'], /^sam-amg: option '--preset <name>' argument 'fastest' is invalid\. Allowed choices are default, dense, sa1b, fast\. \(see sam-amg --help\)\n$/],
    [[img, '--out', '/tmp/x', '--sampling', 'random'], /^sam-amg: option '--sampling <mode>' argument 'random' is invalid\. Allowed choices are grid, hierarchical\. \(see sam-amg --help\)\n$/],
    [[img, '--out', '/tmp/x', '--decoder-graph', 'fast'], /^sam-amg: option '--decoder-graph <mode>' argument 'fast' is invalid\. Allowed choices are folded, staged, split, whole\. \(see sam-amg --help\)\n$/],
    [['/nonexistent/images', '--out', '/tmp/x', '--model', TINY], /^sam-amg: \/nonexistent\/images: no such file or folder\n$/],
    [[img, '--out', '/tmp/x'], /^sam-amg: no model: mobilesam \(no --model given, so the default\) is not cached in .* pass --model DIR\n$/],
    [[img, '--out', '/tmp/x', '--model', '/nonexistent'], /^sam-amg: \/nonexistent: no such model folder\n$/],
    [[img, '--out', '/tmp/x', '--model', 'sam-vit-z'], /^sam-amg: sam-vit-z: neither a model folder nor a model name \(known: mobilesam, /],
    [[img, '--out', '/tmp/x', '--encoder', path.join(TINY, 'encoder.onnx')], /^sam-amg: --encoder and --decoder go together\n$/],
  ])('%j', async (args, pattern) => {
    const res = await runCli(args);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(pattern);
  });
});

describe('help and version', () => {
  it('lists every setting with its default', async () => {
    const res = await runCli(['--help']);
    expect(res.code).toBe(0);
    for (const spec of SETTING_SPECS) expect(res.stdout).toContain(`${spec.flag} <value>`);
    expect(res.stdout).toContain("(default: 0.88; SAM 2 models: 0.8, as SAM 2's generator)");
    expect(res.stdout).toContain('(default: 0.3413 = 512/1500)');
    expect(res.stdout).toMatch(/Exit codes: 0 .* 1 .* 2 .* 130/s);
  });

  it('prints the version', async () => {
    const res = await runCli(['--version']);
    expect(res.code).toBe(0);
    expect(res.stdout.trim()).toBe(JSON.parse(readFileSync(path.resolve(TINY, '../../../package.json'), 'utf8')).version);
  });
});

describe('output layout', () => {
  it('mirrors input folders, keeps ids stable across runs and refuses colliding outputs', async () => {
    const input = tempDir();
    mkdirSync(path.join(input, 'a/b'), { recursive: true });
    copyFileSync(path.join(PHOTOS, 'meadow.jpg'), path.join(input, 'a/b/dog.jpg'));
    copyFileSync(path.join(PHOTOS, 'shelf.jpg'), path.join(input, 'a/b/dog.png'));
    const out1 = tempDir();
    const out2 = tempDir();
    const args = ['--model', TINY, '--points-per-side', '4'];
    const r1 = await runCli([input, '--out', out1, ...args]);
    const r2 = await runCli([input, '--out', out2, ...args]);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toContain(`sam-amg: ${path.join(input, 'a/b/dog.png')}: output ${path.join(out1, 'a/b/dog.json')} is already the output of ${path.join(input, 'a/b/dog.jpg')}; rename one of them\n`);
    expect(filesUnder(out1)).toEqual(['.sam-amg-run.json', 'a/b/dog.json', 'failures.jsonl']);
    const f1 = readFileSync(path.join(out1, 'a/b/dog.json'), 'utf8');
    expect(JSON.parse(f1).image.file_name).toBe('a/b/dog.jpg');
    expect(readFileSync(path.join(out2, 'a/b/dog.json'), 'utf8')).toBe(f1);
  });
});
