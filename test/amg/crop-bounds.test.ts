import { readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cropBoundsRefusal, CropBoundsError } from '../../src/amg/crop-bounds.js';
import { generateMasks } from '../../src/amg/generator.js';
import { generateCropBoxes, type BoxXyxy } from '../../src/amg/geometry.js';
import type { PromptModel } from '../../src/amg/prompt-model.js';
import type { RgbImage } from '../../src/image/rgb-image.js';
import { SamOnnxModel } from '../../src/model/sam-onnx.js';
import { ROOT, runCli, tempDir, TINY, writeScenes } from '../helpers.js';

const OVERLAP = 512 / 1500;
const thin = (input: number) => `too thin: the short side scales to 0 pixels at the model's ${input}-pixel input`;
const tooSmall = (w: number, h: number, layers: number) => `image of ${w}×${h} pixels is too small for ${layers} crop layer${layers === 1 ? '' : 's'}`;
const boxesOf = (w: number, h: number, layers: number, layer: number) =>
  generateCropBoxes(h, w, layers, OVERLAP).filter((c) => c.layer === layer).map((c) => c.box);
/** Takes any crop that has pixels, as SAM 2's stretch and EfficientSAM's own resize do. */
const anySize: Pick<PromptModel, 'cropSizeProblem'> = {};
/** SAM's letterbox at 1024: `int(side · 1024 / long side + 0.5)` must not be 0 (the reference's get_preprocess_shape). */
const letterbox1024: Pick<PromptModel, 'cropSizeProblem'> = {
  cropSizeProblem: (w, h) => (Math.trunc(Math.min(w, h) * 1024 / Math.max(w, h) + 0.5) === 0 ? thin(1024) : undefined),
};
const refusal = (w: number, h: number, layers: number, model = anySize) => cropBoundsRefusal(w, h, generateCropBoxes(h, w, layers, OVERLAP), model);

describe('crop boxes the reference cannot process, computed by hand', () => {
  it('1×1 with one layer: crops of ceil(1 / 2) = 1 pixel start at 0 and 1, so three of the four are empty', () => {
    // overlap int(0.34 · 1) = 0; crop 1 × 1; x0, y0 in [0, 1].
    expect(boxesOf(1, 1, 1, 1)).toEqual([[0, 0, 1, 1], [0, 1, 1, 1], [1, 0, 1, 1], [1, 1, 1, 1]]);
    expect(refusal(1, 1, 1)).toBe(`${tooSmall(1, 1, 1)}: a layer-1 crop is 1×0 pixels`);
    expect(refusal(1, 1, 0)).toBeUndefined();
  });

  it('3000×2 with two layers: four layer-2 crops of 1 row at rows 0..3, past the image\'s 2', () => {
    // Layer 2: overlap int(0.34 · 2 · 0.5) = 0; crop w = ceil(3000 / 4) = 750, h = ceil(2 / 4) = 1.
    const expected: BoxXyxy[] = [];
    for (const x0 of [0, 750, 1500, 2250]) for (const y0 of [0, 1, 2, 3]) expected.push([x0, y0, x0 + 750, Math.min(y0 + 1, 2)]);
    expect(boxesOf(3000, 2, 2, 2)).toEqual(expected);
    // The third box, [0, 2, 750, 2], is the first empty one; the fourth ends before it starts ([0, 3, 750, 2]).
    expect(refusal(3000, 2, 2)).toBe(`${tooSmall(3000, 2, 2)}: a layer-2 crop is 750×0 pixels`);
    expect(refusal(2, 3000, 2)).toBe(`${tooSmall(2, 3000, 2)}: a layer-2 crop is 0×750 pixels`);
    // One layer: crops of 1500 × 1, every one within the image; at 1024 a row scales to int(1024 / 1500 + 0.5) = 1.
    expect(boxesOf(3000, 2, 1, 1)).toEqual([[0, 0, 1500, 1], [0, 1, 1500, 2], [1500, 0, 3000, 1], [1500, 1, 3000, 2]]);
    expect(refusal(3000, 2, 1, letterbox1024)).toBeUndefined();
  });

  it('8201×5 with two layers: a 2051×1 crop too thin to letterbox, then empty ones', () => {
    // Layer 2: overlap int(0.34 · 5 · 0.5) = 0; crop w = ceil(8201 / 4) = 2051, h = ceil(5 / 4) = 2; y0 in [0, 2, 4, 6].
    expect(boxesOf(8201, 5, 2, 2).slice(0, 4)).toEqual([[0, 0, 2051, 2], [0, 2, 2051, 4], [0, 4, 2051, 5], [0, 6, 2051, 5]]);
    // int(1 · 1024 / 2051 + 0.5) = 0: the reference's resize fails on the third crop; a model that stretches, on the fourth.
    expect(refusal(8201, 5, 2, letterbox1024)).toBe(`${tooSmall(8201, 5, 2)}: a layer-2 crop is 2051×1 pixels, ${thin(1024)}`);
    expect(refusal(8201, 5, 2)).toBe(`${tooSmall(8201, 5, 2)}: a layer-2 crop is 2051×0 pixels`);
  });

  it('names the whole image by its size alone when the layer-0 crop is the one refused', () => {
    expect(refusal(3000, 1, 2, letterbox1024)).toBe(`3000×1 pixels are ${thin(1024)}`);
    expect(refusal(2048, 1, 0, letterbox1024)).toBeUndefined();
    expect(refusal(0, 4, 0)).toBe('0×4 pixels are empty');
  });

  it('sa1b\'s two layers: short sides 1, 2, 3, 5 and 6 always give an empty crop, 4 only at 4×5, 4×6 and 4×9, 7 and up never', () => {
    const refusedLongSides = (short: number) => {
      const found: number[] = [];
      for (let long = short; long <= 300; long++) {
        const [a, b] = [refusal(long, short, 2), refusal(short, long, 2)];
        expect(a === undefined, `${long}×${short} and its transpose`).toBe(b === undefined);
        if (a) found.push(long);
      }
      return found;
    };
    for (const short of [1, 2, 3, 5, 6]) expect(refusedLongSides(short), `short side ${short}`).toHaveLength(301 - short);
    expect(refusedLongSides(4)).toEqual([5, 6, 9]);
    for (const short of [7, 8, 9, 10, 16, 33]) expect(refusedLongSides(short), `short side ${short}`).toEqual([]);
    // 5×5: overlap 0, crops of ceil(5 / 4) = 2 starting at 0, 2, 4, 6; [0, 6, 2, 5] ends before it starts.
    expect(refusal(5, 5, 2)).toBe(`${tooSmall(5, 5, 2)}: a layer-2 crop is 2×0 pixels`);
  });
});

describe('each model family says which crops it cannot embed', () => {
  const models: Record<string, SamOnnxModel> = {};
  beforeAll(async () => {
    for (const dir of ['tiny', 'families/efficientvit-sam', 'families/sam2', 'families/efficientsam']) {
      models[dir] = await SamOnnxModel.loadDir(path.join(ROOT, 'fixtures/models', dir));
    }
  });
  afterAll(async () => {
    for (const model of Object.values(models)) await model.release();
  });

  it('letterboxing ones, a short side that rounds to 0 at their input size', () => {
    const tiny = models.tiny;
    expect(tiny.cropSizeProblem(2048, 1)).toBeUndefined();
    expect(tiny.cropSizeProblem(2049, 1)).toBe(thin(1024));
    expect(tiny.cropSizeProblem(1, 2051)).toBe(thin(1024));
    const evit = models['families/efficientvit-sam'];
    expect(evit.cropSizeProblem(1024, 1)).toBeUndefined();
    expect(evit.cropSizeProblem(1025, 1)).toBe(thin(512));
  });

  it('SAM 2 and EfficientSAM, only a crop with no pixels', () => {
    for (const dir of ['families/sam2', 'families/efficientsam']) {
      expect(models[dir].cropSizeProblem(100000, 1), dir).toBeUndefined();
      expect(models[dir].cropSizeProblem(750, 0), dir).toBe('empty');
    }
  });

  it('and embed refuses what it names, before the encoder runs', async () => {
    const empty: RgbImage = { width: 0, height: 3, data: new Uint8Array(0) };
    for (const model of Object.values(models)) await expect(model.embed(empty)).rejects.toThrow('0×3 pixels are empty');
  });
});

describe('the generator checks every crop before encoding any', () => {
  const counting = (cropSizeProblem?: PromptModel['cropSizeProblem']) => {
    const embedded: string[] = [];
    const model: PromptModel = {
      lowResSize: 4,
      ...(cropSizeProblem ? { cropSizeProblem } : {}),
      embed: async (crop) => {
        embedded.push(`${crop.width}×${crop.height}`);
        return { pointScaleX: 1, pointScaleY: 1, maskFrame: 4, maskHeight: 4, maskWidth: 4 };
      },
      decode: async (_e, _points, count) => ({ lowRes: new Float32Array(count * 3 * 16).fill(-10), iouPreds: new Float32Array(count * 3) }),
    };
    return { model, embedded };
  };
  const image = (w: number, h: number): RgbImage => ({ width: w, height: h, data: new Uint8Array(w * h * 3) });

  it('refuses 3000×2 with two layers in one error, having embedded nothing', async () => {
    const { model, embedded } = counting();
    const err = await generateMasks(image(3000, 2), model, { pointsPerSide: 2, cropNLayers: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CropBoundsError);
    expect((err as Error).message).toBe(`${tooSmall(3000, 2, 2)}: a layer-2 crop is 750×0 pixels`);
    expect(embedded).toEqual([]);
  });

  it('asks the model about every crop in order, and embeds them all when none is refused', async () => {
    const asked: string[] = [];
    const { model, embedded } = counting((w, h) => void asked.push(`${w}×${h}`));
    await generateMasks(image(3000, 2), model, { pointsPerSide: 2, cropNLayers: 1 });
    expect(asked).toEqual(['3000×2', '1500×1', '1500×1', '1500×1', '1500×1']);
    expect(embedded).toEqual(asked);
  });

  it('refuses the whole image with the model\'s own words', async () => {
    const { model, embedded } = counting(letterbox1024.cropSizeProblem);
    await expect(generateMasks(image(3000, 1), model, { pointsPerSide: 2 })).rejects.toThrow(`3000×1 pixels are ${thin(1024)}`);
    expect(embedded).toEqual([]);
  });
});

describe('the CLI over images too small for their crops', () => {
  let dir: string;
  const refusedByAll: Record<string, string> = {
    'tiny-1x1.png': `${tooSmall(1, 1, 2)}: a layer-1 crop is 1×0 pixels`,
    'thin-3000x2.png': `${tooSmall(3000, 2, 2)}: a layer-2 crop is 750×0 pixels`,
    'narrow-6x40.png': `${tooSmall(6, 40, 2)}: a layer-2 crop is 0×11 pixels`,
  };
  const families: [string, string, string][] = [
    ['tiny', TINY, `${tooSmall(8201, 5, 2)}: a layer-2 crop is 2051×1 pixels, ${thin(1024)}`],
    ['sam2', path.join(ROOT, 'fixtures/models/families/sam2'), `${tooSmall(8201, 5, 2)}: a layer-2 crop is 2051×0 pixels`],
    ['efficientsam', path.join(ROOT, 'fixtures/models/families/efficientsam'), `${tooSmall(8201, 5, 2)}: a layer-2 crop is 2051×0 pixels`],
  ];
  /** Processed: the 64×48 scene, and a 7-pixel side, the narrowest two layers take. */
  const processed: Record<string, [number, number]> = { 'a/scene-000.png': [64, 48], 'narrow-7x40.png': [7, 40] };

  const writeRamp = async (folder: string, name: string) => {
    const [w, h] = name.match(/(\d+)x(\d+)/)!.slice(1).map(Number);
    const ramp = Buffer.alloc(w * h * 3).map((_, i) => (i * 7) % 256);
    await sharp(ramp, { raw: { width: w, height: h, channels: 3 } }).png().toFile(path.join(folder, name));
  };

  /** Runs the CLI and checks: exit 1, one line per refused image and nothing else of note on stderr, the rest written. */
  const expectRefusals = async (input: string, args: string[], refused: Record<string, string>, written: Record<string, [number, number]>) => {
    const out = tempDir();
    const res = await runCli([input, '--out', out, ...args]);
    expect(res.code, res.stderr).toBe(1);
    expect(res.stderr).not.toMatch(/^\s+at /m);
    // onnxruntime logs a failing kernel in red, from C++, past any catch.
    expect(res.stderr).not.toMatch(/onnxruntime|\u001b\[|Non-zero status|Invalid typed array/);
    const imageLines = res.stderr.split('\n').filter((l) => l.startsWith(`sam-amg: ${input}`));
    expect(imageLines.sort()).toEqual(Object.entries(refused).map(([name, cause]) => `sam-amg: ${path.join(input, name)}: ${cause}`).sort());
    const failures = readFileSync(path.join(out, 'failures.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(failures.map((f) => [path.basename(f.path), f.reason]).sort()).toEqual(Object.entries(refused).sort());
    for (const [name, [w, h]] of Object.entries(written)) {
      const file = JSON.parse(readFileSync(path.join(out, name.replace(/\.png$/, '.json')), 'utf8'));
      expect(file.image).toMatchObject({ width: w, height: h, file_name: name });
      for (const a of file.annotations) expect(a.segmentation.size).toEqual([h, w]);
    }
    expect(JSON.parse(readFileSync(path.join(out, 'a/scene-000.json'), 'utf8')).annotations.length).toBeGreaterThan(0);
  };

  beforeAll(async () => {
    dir = tempDir();
    await writeScenes(dir, 1);
    for (const name of [...Object.keys(refusedByAll), 'thin-8201x5.png', 'narrow-7x40.png']) await writeRamp(dir, name);
  });

  it.each(families)('--crop-n-layers 2 with the %s model: refused in one line each, the rest written', async (_family, model, thin8201) => {
    await expectRefusals(dir, ['--model', model, '--points-per-side', '4', '--crop-n-layers', '2'],
      { ...refusedByAll, 'thin-8201x5.png': thin8201 }, processed);
  });

  it('--preset dense (one layer) refuses 1×1 and 2×1; --preset sa1b (two) every short side of 6 or less it is given', async () => {
    const dense = tempDir();
    await writeScenes(dense, 1);
    for (const name of ['tiny-1x1.png', 'tiny-2x1.png']) await writeRamp(dense, name);
    await expectRefusals(dense, ['--model', TINY, '--preset', 'dense', '--points-per-side', '4'], {
      'tiny-1x1.png': `${tooSmall(1, 1, 1)}: a layer-1 crop is 1×0 pixels`,
      'tiny-2x1.png': `${tooSmall(2, 1, 1)}: a layer-1 crop is 1×0 pixels`,
    }, { 'a/scene-000.png': [64, 48] });

    const sa1b = tempDir();
    await writeScenes(sa1b, 1);
    const small = ['small-5x5.png', 'small-40x6.png', 'small-3x90.png', 'small-4x9.png'];
    for (const name of [...small, 'small-4x40.png']) await writeRamp(sa1b, name);
    await expectRefusals(sa1b, ['--model', TINY, '--preset', 'sa1b', '--points-per-side', '4'], {
      'small-5x5.png': `${tooSmall(5, 5, 2)}: a layer-2 crop is 2×0 pixels`,
      'small-40x6.png': `${tooSmall(40, 6, 2)}: a layer-2 crop is 11×0 pixels`,
      'small-3x90.png': `${tooSmall(3, 90, 2)}: a layer-2 crop is 0×23 pixels`,
      'small-4x9.png': `${tooSmall(4, 9, 2)}: a layer-2 crop is 1×0 pixels`,
    }, { 'a/scene-000.png': [64, 48], 'small-4x40.png': [4, 40] });
  });
});
