/**
 * Settings that shape the masks beyond the reference's: the SA-1B preset,
 * whole-mask area filters, custom point grids.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateMasks } from '../../src/amg/generator.js';
import { buildLayerPointGrids, generateCropBoxes } from '../../src/amg/geometry.js';
import { decodeImage } from '../../src/image/decode.js';
import { SamOnnxModel } from '../../src/model/sam-onnx.js';
import { outputSettings } from '../../src/output/run-identity.js';
import { DEFAULT_SETTINGS, resolveSettings } from '../../src/settings/settings.js';
import { PHOTOS, runCli, tempDir, TINY } from '../helpers.js';

describe('--preset sa1b', () => {
  it("is the SAM paper's fully automatic stage: 32² points, 16² and 8² on 2×2 and 4×4 crops, 0.88 / 0.95 at ±1, NMS 0.7, 100 px, 95 %", () => {
    const s = resolveSettings({}, 'sa1b');
    expect(s).toEqual({
      ...DEFAULT_SETTINGS, pointsPerSide: 32, cropNLayers: 2, cropNPointsDownscaleFactor: 2, predIouThresh: 0.88,
      stabilityScoreThresh: 0.95, stabilityScoreOffset: 1, boxNmsThresh: 0.7, minMaskRegionArea: 100, maxMaskAreaFraction: 0.95,
    });
    expect(buildLayerPointGrids(s.pointsPerSide, s.cropNLayers, s.cropNPointsDownscaleFactor).map((g) => g.length / 2)).toEqual([32 * 32, 16 * 16, 8 * 8]);
    const layers = generateCropBoxes(1500, 2250, s.cropNLayers, s.cropOverlapRatio).map((c) => c.layer);
    expect([0, 1, 2].map((l) => layers.filter((x) => x === l).length)).toEqual([1, 4, 16]);
    // A flag still wins, and the preset's IoU threshold wins over SAM 2's own default.
    expect(resolveSettings({ minMaskRegionArea: 0 }, 'sa1b').minMaskRegionArea).toBe(0);
    expect(resolveSettings({}, 'sa1b', 'keys', 'sam2').predIouThresh).toBe(0.88);
  });
});

describe('whole-mask area filters', () => {
  it('keep a mask of exactly --min-mask-area pixels and drop one of exactly --max-mask-area-fraction of the image', async () => {
    const model = await SamOnnxModel.loadDir(TINY);
    const image = await decodeImage(readFileSync(path.join(PHOTOS, 'shelf.jpg')), 'shelf');
    // Five runs: 10 points a side give 10 masks of 10 areas here, at half the cost of 16.
    const base = { pointsPerSide: 10, predIouThresh: 0.8, stabilityScoreThresh: 0.9 };
    const all = await generateMasks(image, model, base);
    const areas = all.map((r) => r.area).sort((a, b) => a - b);
    expect(new Set(areas).size).toBeGreaterThan(3);
    const mid = areas[Math.floor(areas.length / 2)];
    const largest = areas[areas.length - 1];
    const run = async (extra: object) => (await generateMasks(image, model, { ...base, ...extra })).map((r) => JSON.stringify(r));
    const expectKept = async (extra: object, keep: (area: number) => boolean) => {
      expect(await run(extra)).toEqual(all.filter((r) => keep(r.area)).map((r) => JSON.stringify(r)));
    };
    await expectKept({ minMaskArea: mid }, (a) => a >= mid);
    await expectKept({ minMaskArea: mid + 1 }, (a) => a > mid);
    const fraction = largest / (image.width * image.height);
    await expectKept({ maxMaskAreaFraction: fraction }, (a) => a < largest);
    await expectKept({ maxMaskAreaFraction: fraction * (1 + 1e-12) }, () => true);
    await model.release();
  });

  it('are off by default and then leave the fingerprint of earlier runs as it was', () => {
    expect(Object.keys(outputSettings(DEFAULT_SETTINGS))).toEqual([
      'points_per_side', 'pred_iou_thresh', 'stability_score_thresh', 'stability_score_offset', 'box_nms_thresh',
      'crop_n_layers', 'crop_nms_thresh', 'crop_overlap_ratio', 'crop_n_points_downscale_factor', 'min_mask_region_area',
    ]);
    expect(outputSettings({ ...DEFAULT_SETTINGS, minMaskArea: 5, maxMaskAreaFraction: 0.5 })).toMatchObject({ min_mask_area: 5, max_mask_area_fraction: 0.5 });
  });
});

describe('--point-grids', () => {
  const image = path.join(PHOTOS, 'still-life.jpg');
  const common = ['--model', TINY, '--crop-n-layers', '1'];

  it('with the grids --points-per-side would build gives the same masks, and records the grids instead', async () => {
    const dir = tempDir();
    const grids = buildLayerPointGrids(8, 1, 2).map((g) => Array.from({ length: g.length / 2 }, (_, k) => [g[2 * k], g[2 * k + 1]]));
    writeFileSync(path.join(dir, 'grids.json'), JSON.stringify(grids));
    const byGrids = await runCli([image, '--out', path.join(dir, 'a'), ...common, '--point-grids', path.join(dir, 'grids.json')]);
    const bySide = await runCli([image, '--out', path.join(dir, 'b'), ...common, '--points-per-side', '8', '--crop-n-points-downscale-factor', '2']);
    expect(byGrids.code, byGrids.stderr).toBe(0);
    expect(bySide.code, bySide.stderr).toBe(0);
    const [a, b] = ['a', 'b'].map((o) => JSON.parse(readFileSync(path.join(dir, o, 'still-life.json'), 'utf8')));
    expect(a.annotations.length).toBeGreaterThan(0);
    expect(JSON.stringify(a.annotations)).toBe(JSON.stringify(b.annotations));
    expect(a.info.settings.point_grids).toMatch(/^[0-9a-f]{64}$/);
    expect(a.info.settings.points_per_side).toBeUndefined();
    expect(a.info.fingerprint).not.toBe(b.info.fingerprint);
  });

  it.each([
    ['[[[0.5, 0.5]]]', /Expected 2 lists of points, one per crop layer \(--crop-n-layers 1\) for --point-grids \S+ but received 1 of type number/],
    ['[[[0.5, 0.5]], [[0.2, -0.1]]]', /for --point-grids \S+ layer 1 point 0 but received \[0.2,-0.1\]/],
    ['[[[0.5, 0.5]], []]', /Expected a non-empty list of \[x, y\] points for --point-grids \S+ layer 1/],
    ['[[[0.5, 0.5]], [[0.5]]', /not valid JSON/],
  ])('refuses %s with exit 2 and one line', async (text, message) => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'grids.json'), text);
    const res = await runCli([image, '--out', path.join(dir, 'out'), ...common, '--point-grids', path.join(dir, 'grids.json')]);
    expect(res.code).toBe(2);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toMatch(message);
  });
});
