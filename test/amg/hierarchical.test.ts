import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InlineBatchProcessor, type BatchFrame } from '../../src/amg/batch-processor.js';
import { generateMasks, generateMaskData } from '../../src/amg/generator.js';
import { buildPointGrid } from '../../src/amg/geometry.js';
import { firstPassSide, secondPassPoints } from '../../src/amg/hierarchical.js';
import type { PromptModel } from '../../src/amg/prompt-model.js';
import { decodeImage } from '../../src/image/decode.js';
import { SamOnnxModel } from '../../src/model/sam-onnx.js';
import { outputSettings } from '../../src/output/run-identity.js';
import { PostprocessPool } from '../../src/runner/postprocess-pool.js';
import { resolveSettings } from '../../src/settings/settings.js';
import { PHOTOS, ROOT, runCli, tempDir, TINY } from '../helpers.js';

describe('TinySAM\'s second-pass points', () => {
  it('on a hand-made covered map: the 15 neighbours of a first-pass point, in TinySAM\'s order, less the covered ones', () => {
    // 17 × 13, 4 points per side: the first pass is the one point (8.5, 6.5); strides 17 // 4 = 4 and 13 // 4 = 3.
    const [w, h] = [17, 13];
    const first = buildPointGrid(firstPassSide(4));
    expect(Array.from(first)).toEqual([0.5, 0.5]);
    const covered = new Uint8Array(w * h);
    // Covered pixels under four of the candidates, read as TinySAM's int() truncates (12.5 → 12);
    // (16.5, 12.5) lands on the last column and the last row.
    for (const [x, y] of [[12, 6], [16, 9], [16, 12], [4, 12]]) covered[y * w + x] = 1;
    const expected = [
      // The eight around it, x offset outer: (8.5 + 4a, 6.5 + 3b).
      [4.5, 3.5], [4.5, 6.5], [4.5, 9.5], [8.5, 3.5], [8.5, 9.5], [12.5, 3.5], /* [12.5, 6.5] covered */ [12.5, 9.5],
      // 8.5 + 8 < 17: the column at +2 strides.
      [16.5, 3.5], [16.5, 6.5], /* [16.5, 9.5] covered */
      // 6.5 + 6 < 13: the row at +2 strides.
      /* [4.5, 12.5] covered */ [8.5, 12.5], [12.5, 12.5],
      // and the corner, (16.5, 12.5), covered.
    ].flatMap(([x, y]) => [x / w, y / h]);
    expect(Array.from(secondPassPoints(first, w, h, 4, covered))).toEqual(expected);
    // Nothing covered: all fifteen.
    expect(secondPassPoints(first, w, h, 4, new Uint8Array(w * h)).length).toBe(15 * 2);
  });

  it('leaves out the +2 column and row where they would fall outside', () => {
    // 16 × 12: 8.5 + 8 = 16.5 is not < 16, 6 + 6 = 12 is not < 12: only the eight neighbours.
    const [w, h] = [16, 12];
    const first = buildPointGrid(1);
    const covered = new Uint8Array(w * h);
    // The first neighbour, (8 - 4, 6 - 3), is covered.
    covered[3 * w + 4] = 1;
    const points = Array.from(secondPassPoints(first, w, h, 4, covered));
    expect(points.length).toBe(7 * 2);
    expect(points.slice(0, 2)).toEqual([4 / w, 6 / h]);
  });
});

/** A model whose every mask is the whole crop with logits `logit`, IoU 0.95: stable, kept, and covering where logit > the threshold. */
function flatModel(logit: number, seen: { prompts: number }): PromptModel {
  return {
    lowResSize: 8,
    embed: async (crop) => ({ pointScaleX: 1, pointScaleY: 1, maskFrame: crop.width, maskHeight: crop.height, maskWidth: crop.width }),
    decode: async (_e, _points, count) => {
      seen.prompts += count;
      return { lowRes: new Float32Array(count * 3 * 64).fill(logit), iouPreds: new Float32Array(count * 3).fill(0.95) };
    },
  };
}

describe('hierarchical sampling in the generator', () => {
  const image = { width: 64, height: 48, data: new Uint8Array(64 * 48 * 3) };

  it('decodes only the first pass when its masks cover the whole crop, and both passes when they cover nothing', async () => {
    for (const [logit, threshold] of [[20, 8.5], [5, 8.5]]) {
      const seen = { prompts: 0 };
      const counts = { prompts: 0 };
      await generateMaskData(image, flatModel(logit, seen), resolveSettings({ pointsPerSide: 16, sampling: 'hierarchical', highScoreThresh: threshold }), { counts });
      const firstPass = firstPassSide(16) ** 2;
      const secondPass = logit > threshold ? 0 : secondPassPoints(buildPointGrid(4), 64, 48, 16, new Uint8Array(64 * 48)).length / 2;
      expect(seen.prompts, `logit ${logit}`).toBe(firstPass + secondPass);
      expect(counts.prompts).toBe(seen.prompts);
    }
    // Grid sampling counts the grid.
    const counts = { prompts: 0 };
    await generateMaskData(image, flatModel(20, { prompts: 0 }), resolveSettings({ pointsPerSide: 16 }), { counts });
    expect(counts.prompts).toBe(256);
  });

  it('gives the same records through the worker pool as inline, with a crop layer, on a photo with the tiny model', async () => {
    const model = await SamOnnxModel.loadDir(TINY);
    const pool = new PostprocessPool(1);
    try {
      const photo = await decodeImage(path.join(PHOTOS, 'shelf.jpg'));
      const settings = { sampling: 'hierarchical', highScoreThresh: 4, pointsPerSide: 16, cropNLayers: 1, cropNPointsDownscaleFactor: 2 };
      const counts = { prompts: 0 };
      const pooledCounts = { prompts: 0 };
      const inline = await generateMasks(photo, model, settings, { counts });
      const pooled = await generateMasks(photo, model, settings, { processor: pool, counts: pooledCounts });
      expect(pooled).toEqual(inline);
      expect(pooledCounts.prompts).toBe(counts.prompts);
      expect(inline.length).toBeGreaterThan(3);
      // Covered pixels took prompts away: fewer than the grid's, more than the first passes'. The grid's count
      // does not depend on the masks: counted with a model whose masks are empty, which costs no post-processing.
      const grid = { prompts: 0 };
      await generateMaskData(photo, flatModel(-20, { prompts: 0 }), resolveSettings({ ...settings, sampling: 'grid' }), { counts: grid });
      expect(grid.prompts).toBe(16 * 16 + 4 * 8 * 8);
      expect(counts.prompts).toBeLessThan(grid.prompts);
      expect(counts.prompts).toBeGreaterThan(4 * 4 + 4 * 2 * 2);
    } finally {
      await pool.close();
      await model.release();
    }
  });

  it('maps covered pixels with the sparse upscaler exactly as the full one does, and gives the same records', async () => {
    const model = await SamOnnxModel.loadDir(TINY);
    try {
      const photo = await decodeImage(path.join(PHOTOS, 'meadow.jpg'));
      const embedding = await model.embed(photo);
      const grid = buildPointGrid(8);
      const points = Float64Array.from(grid, (v, i) => v * (i % 2 ? photo.height : photo.width));
      const prompts = Float32Array.from(points, (v, i) => v * (i % 2 ? embedding.pointScaleY : embedding.pointScaleX));
      const decoded = await model.decode(embedding, prompts, 64);
      const candidates = () => ({ count: 192, lowRes: decoded.lowRes.slice(), iouPreds: decoded.iouPreds, points: Float64Array.from({ length: 384 }, (_, i) => points[2 * Math.floor(i / 6) + (i % 2)]) });
      const frame: BatchFrame = {
        cropBox: [0, 0, photo.width, photo.height], imageH: photo.height, imageW: photo.width, upscale: 'sparse', reference: 'sam', coverAbove: 4,
        geometry: { lowRes: model.lowResSize, inputSize: embedding.maskFrame, resizedH: embedding.maskHeight, resizedW: embedding.maskWidth, cropH: photo.height, cropW: photo.width },
      };
      const processor = new InlineBatchProcessor();
      const settings = resolveSettings({ sampling: 'hierarchical', highScoreThresh: 4 });
      const sparse = processor.process(candidates(), frame, settings).covered!;
      const full = processor.process(candidates(), { ...frame, upscale: 'full' }, settings).covered!;
      const count = sparse.reduce((n, v) => n + v, 0);
      expect(count).toBeGreaterThan(photo.width * photo.height * 0.1);
      expect(Buffer.from(sparse).equals(Buffer.from(full))).toBe(true);
      // 8 points a side: the full upscaler computes all of the photo's 1.3 million pixels for every candidate.
      const byUpscaler = await Promise.all((['sparse', 'full'] as const).map((upscale) => generateMasks(photo, model, { sampling: 'hierarchical', highScoreThresh: 4, pointsPerSide: 8 }, { upscale })));
      expect(byUpscaler[0].length).toBeGreaterThan(0);
      expect(byUpscaler[0]).toEqual(byUpscaler[1]);
    } finally {
      await model.release();
    }
  });

  it('is recorded in the fingerprint only when used, with its threshold; grid folders keep theirs', () => {
    expect(outputSettings(resolveSettings({}))).not.toHaveProperty('sampling');
    expect(outputSettings(resolveSettings({ highScoreThresh: 3 }))).not.toHaveProperty('high_score_thresh');
    expect(outputSettings(resolveSettings({ sampling: 'hierarchical' }))).toMatchObject({ sampling: 'hierarchical', high_score_thresh: 8.5 });
    expect(outputSettings(resolveSettings({}, 'fast'))).toMatchObject({ sampling: 'hierarchical', points_per_side: 32, pred_iou_thresh: 0.88 });
    expect(() => resolveSettings({ sampling: 'dense' })).toThrow('Expected one of grid, hierarchical for sampling but received dense of type string');
    expect(() => resolveSettings({ sampling: 'hierarchical', pointGrids: [[[0.5, 0.5]]] })).toThrow(/pointGrids cannot be used with sampling hierarchical/);
    expect(() => resolveSettings({ sampling: 'hierarchical', pointsPerSide: 8, cropNLayers: 1, cropNPointsDownscaleFactor: 4 }))
      .toThrow('sampling hierarchical needs at least 4 points per side on every crop layer (its first pass has a quarter of them); crop layer 1 has 2');
  });
});

describe('the command line', () => {
  it('grid sampling writes the records it wrote before hierarchical sampling existed, byte for byte; prompts are counted', async () => {
    // SHA-256 of the outputs of commit bcb3720 (before this feature) for the same command.
    const before: Record<string, string> = {
      '.sam-amg-run.json': '8e38bbe0a3bbc72dba3b00150f761dba331767571f5f9a4221c59bea106b8066',
      'meadow.json': 'bcebcab2e2f7e144c4005fa48d350c257dab2c336e8f64c72902c7792677c658',
      'shelf.json': '726b9963f70c7dacb296e4b801a7c673727c9772728db4c871694b815b120918',
      'still-life.json': 'd58a589503350176e1e2ba64b7a736e3fc49d25d59094d8fd7af7f770a179006',
    };
    const out = tempDir();
    const res = await runCli([PHOTOS, '--out', out, '--model', TINY, '--json']);
    expect(res.code, res.stderr).toBe(0);
    const sha = (f: string) => createHash('sha256').update(readFileSync(path.join(out, f))).digest('hex');
    expect(Object.fromEntries(readdirSync(out).sort().map((f) => [f, sha(f)]))).toEqual(before);
    const events = res.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(events.filter((e) => e.event === 'image_done').map((e) => e.prompts)).toEqual([1024, 1024, 1024]);
    expect(events.at(-1)).toMatchObject({ event: 'summary', prompts: 3072 });

    const fast = tempDir();
    const hier = await runCli([PHOTOS, '--out', fast, '--model', TINY, '--preset', 'fast', '--high-score-thresh', '4']);
    expect(hier.code, hier.stderr).toBe(0);
    const prompts = Number(/ masks from (\d+) prompts in /.exec(hier.stderr)![1]);
    expect(prompts).toBeLessThan(3072);
    expect(prompts).toBeGreaterThanOrEqual(3 * 64);
    const manifest = JSON.parse(readFileSync(path.join(fast, '.sam-amg-run.json'), 'utf8'));
    expect(manifest.settings).toMatchObject({ sampling: 'hierarchical', high_score_thresh: 4 });
    const refused = await runCli([path.join(ROOT, 'fixtures/photos/shelf.jpg'), '--out', tempDir(), '--model', TINY, '--sampling', 'hierarchical', '--points-per-side', '3']);
    expect(refused.stderr).toBe('sam-amg: --sampling hierarchical needs at least 4 points per side on every crop layer (its first pass has a quarter of them); crop layer 0 has 3\n');
    expect(refused.code).toBe(2);
  });
});
