/**
 * The filter graph (--filter-graph on) against the exact host path it stands
 * in for: the same candidates kept, with the same boxes, and the same records
 * from whole images.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processBatch, type Candidates, type CropFrame } from '../../src/amg/batch.js';
import { generateMasks } from '../../src/amg/generator.js';
import { loosenedFilters, settleFiltered } from '../../src/amg/graph-filter.js';
import type { BoxXyxy } from '../../src/amg/geometry.js';
import { FullUpscaler, type UpscaleGeometry } from '../../src/amg/upscale.js';
import { decodeImage } from '../../src/image/decode.js';
import { CandidateFilterSession } from '../../src/model/candidate-filter.js';
import { CPU } from '../../src/model/device.js';
import { SamOnnxModel } from '../../src/model/sam-onnx.js';
import { resolveSettings, type AmgSettings } from '../../src/settings/settings.js';
import { PHOTO_NAMES, PHOTOS, runCli, tempDir, TINY, writeScenes } from '../helpers.js';

/** Deterministic candidates: steep cones (masks with a thin stability band), shallow ones (failing it), empty and full planes. */
function candidates(n: number, lowRes: number, seed: number): Candidates {
  let state = seed;
  const rnd = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  const plane = lowRes * lowRes;
  const logits = new Float32Array(n * plane);
  for (let i = 0; i < n; i++) {
    const kind = i % 7;
    const cx = rnd() * lowRes, cy = rnd() * lowRes, r = 2 + rnd() * lowRes * 0.4;
    const amp = kind === 5 ? 3 + rnd() * 20 : 40 + rnd() * 400;
    for (let y = 0; y < lowRes; y++) {
      for (let x = 0; x < lowRes; x++) {
        const cone = amp * (1 - Math.hypot(x - cx, y - cy) / r) + (rnd() - 0.5);
        logits[i * plane + y * lowRes + x] = kind === 6 ? -5 : kind === 4 && i % 2 ? 12 : cone;
      }
    }
  }
  const iouPreds = Float32Array.from({ length: n }, (_, i) => (i % 11 === 3 ? 0.5 : 0.8 + rnd() * 0.2));
  // Each candidate's point is its own index, so the exact path's survivors can be told apart.
  const points = Float64Array.from({ length: 2 * n }, (_, k) => (k % 2 ? 0 : k / 2));
  return { count: n, lowRes: logits, iouPreds, points };
}

const GEOMETRIES: { name: string; g: UpscaleGeometry; cropBox: BoxXyxy; image: [number, number] }[] = [
  { name: 'a landscape crop inside the image', g: { lowRes: 64, inputSize: 256, resizedH: 171, resizedW: 256, cropH: 400, cropW: 600 }, cropBox: [100, 50, 700, 450], image: [1000, 800] },
  { name: 'a portrait whole image', g: { lowRes: 32, inputSize: 128, resizedH: 128, resizedW: 85, cropH: 300, cropW: 200 }, cropBox: [0, 0, 200, 300], image: [200, 300] },
  { name: 'logits covering the crop itself', g: { lowRes: 48, inputSize: 48, resizedH: 48, resizedW: 48, cropH: 90, cropW: 120 }, cropBox: [30, 0, 150, 90], image: [400, 90] },
];

describe('the filter graph keeps what the exact path keeps', () => {
  let session: CandidateFilterSession;
  beforeAll(async () => {
    session = await CandidateFilterSession.open(CPU, {});
  });
  afterAll(() => session.release());

  const settingsCases: [string, Partial<AmgSettings>][] = [
    ['default thresholds', {}],
    ['filters off', { predIouThresh: 0, stabilityScoreThresh: 0 }],
    ['a strict stability threshold', { stabilityScoreThresh: 0.97 }],
  ];
  for (const { name, g, cropBox, image } of GEOMETRIES) {
    it.each(settingsCases)(`${name}, %s`, async (_, overrides) => {
      const s = { ...resolveSettings({}, 'default', 'keys'), ...overrides } as AmgSettings;
      const c = candidates(42, g.lowRes, g.cropW);
      const frame: CropFrame = { cropBox, imageW: image[0], imageH: image[1], upscaler: new FullUpscaler(g) };
      const exact = processBatch({ ...c, lowRes: c.lowRes.slice() }, frame, s);
      const filtered = await session.filter(c.lowRes, c.iouPreds, c.count, g.lowRes, { geometry: g, cropBox, imageW: image[0], imageH: image[1] }, loosenedFilters(s));
      const settled = settleFiltered(c, filtered, frame, s);
      expect(settled.kept).toEqual(Array.from({ length: exact.length }, (_, k) => exact.points[2 * k]));
      expect(settled.boxes).toEqual(Array.from(exact.boxes));
      // The cases exercise the filters: some candidates pass and, with the filters on, some do not.
      expect(exact.length).toBeGreaterThan(0);
      if (s.stabilityScoreThresh > 0) expect(exact.length).toBeLessThan(c.count);
    });
  }

  it('gives the reference box [0, 0, 0, 0] for an empty mask and counts the pixels above both thresholds', async () => {
    const g = GEOMETRIES[2].g;
    const plane = new Float32Array(g.lowRes * g.lowRes).fill(-3);
    const full = new Float32Array(g.lowRes * g.lowRes).fill(0.5);
    const out = await session.filter(Float32Array.from([...plane, ...full]), Float32Array.from([0.9, 0.9]), 2, g.lowRes,
      { geometry: g, cropBox: [0, 0, g.cropW, g.cropH], imageW: g.cropW, imageH: g.cropH },
      { ...loosenedFilters(resolveSettings({}, 'default', 'keys')), stabilityScoreThresh: 0 });
    expect(Array.from(out.kept)).toEqual([0, 1]);
    expect(Array.from(out.boxes)).toEqual([0, 0, 0, 0, 0, 0, g.cropW - 1, g.cropH - 1]);
    expect(Array.from(out.intersections)).toEqual([0, 0]);
    expect(Array.from(out.unions)).toEqual([0, g.cropW * g.cropH]);
  });
});

describe('--filter-graph on gives the records of --filter-graph off', () => {
  const models: SamOnnxModel[] = [];
  afterAll(async () => {
    for (const m of models) await m.release();
  });

  it.each(PHOTO_NAMES)('%s.jpg, tiny model, one crop layer', async (name) => {
    const [off, on] = await Promise.all([SamOnnxModel.loadDir(TINY, { filterGraph: false }), SamOnnxModel.loadDir(TINY, { filterGraph: true })]);
    models.push(off, on);
    expect(off.filterCandidates).toBeUndefined();
    expect(on.filterCandidates).toBeDefined();
    const image = await decodeImage(path.join(PHOTOS, `${name}.jpg`));
    // 8 points a side over 5 crops: 320 prompts, 960 candidates an image through both paths (12 took twice as long on 2 cores).
    const settings = { cropNLayers: 1, pointsPerSide: 8 };
    const exact = await generateMasks(image, off, settings);
    const graph = await generateMasks(image, on, settings);
    expect(exact.length).toBeGreaterThan(0);
    expect(graph).toEqual(exact);
  });
});

it('the graph is a valid ONNX model onnxruntime loads on the CPU', async () => {
  const { buildFilterGraph } = await import('../../src/graph/filter-graph.js');
  const session = await ort.InferenceSession.create(buildFilterGraph());
  expect(session.outputNames).toEqual(['kept', 'boxes', 'intersections', 'unions']);
  await session.release();
});

describe('sam-amg --filter-graph', () => {
  it('writes the same files with on as with off, and refuses other values in one line', async () => {
    const images = tempDir();
    await writeScenes(images, 2, [96, 64]);
    const outs = { on: tempDir(), off: tempDir() };
    for (const mode of ['on', 'off'] as const) {
      const res = await runCli([images, '--out', outs[mode], '--model', TINY, '--points-per-side', '8', '--filter-graph', mode, '--quiet']);
      expect(res.code, res.stderr).toBe(0);
    }
    const files = readdirSync(path.join(outs.off, 'a'));
    expect(files).toEqual(['scene-000.json', 'scene-001.json']);
    for (const f of files) expect(readFileSync(path.join(outs.on, 'a', f), 'utf8')).toBe(readFileSync(path.join(outs.off, 'a', f), 'utf8'));
    const bad = await runCli([images, '--out', tempDir(), '--model', TINY, '--filter-graph', 'yes']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^sam-amg: option '--filter-graph <on\|off>' argument 'yes' is invalid\. Allowed choices are on, off\./)]);
  });
});
