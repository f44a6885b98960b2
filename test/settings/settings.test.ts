import { describe, expect, it } from 'vitest';
import { generateMasks } from '../../src/amg/generator.js';
import type { PromptModel } from '../../src/amg/prompt-model.js';
import { DEFAULT_SETTINGS, resolveSettings } from '../../src/settings/settings.js';
import { UsageError } from '../../src/errors.js';

describe('settings', () => {
  it('default to the reference constructor values', () => {
    expect(DEFAULT_SETTINGS).toEqual({
      pointsPerSide: 32, pointsPerBatch: 64, predIouThresh: 0.88, stabilityScoreThresh: 0.95,
      stabilityScoreOffset: 1, boxNmsThresh: 0.7, cropNLayers: 0, cropNmsThresh: 0.7,
      cropOverlapRatio: 512 / 1500, cropNPointsDownscaleFactor: 1, minMaskRegionArea: 0,
      // Not the reference's: off.
      minMaskArea: 0, maxMaskAreaFraction: 0, pointGrids: null,
      // TinySAM's hierarchical sampling, off; its high_score_thresh default.
      sampling: 'grid', highScoreThresh: 8.5,
    });
  });

  it("default, for SAM 2 models, to SAM2AutomaticMaskGenerator's values: only the IoU threshold differs", () => {
    expect(resolveSettings({}, 'default', 'keys', 'sam2')).toEqual({ ...DEFAULT_SETTINGS, predIouThresh: 0.8 });
    expect(resolveSettings({}, 'default', 'keys', 'sam')).toEqual(DEFAULT_SETTINGS);
    // A preset and an explicit value both win over the family's default.
    expect(resolveSettings({}, 'dense', 'keys', 'sam2').predIouThresh).toBe(0.86);
    expect(resolveSettings({ predIouThresh: 0.88 }, 'default', 'keys', 'sam2').predIouThresh).toBe(0.88);
  });

  it('apply the dense preset, then explicit values over it', () => {
    const dense = resolveSettings({ minMaskRegionArea: 7 }, 'dense');
    expect(dense).toMatchObject({
      pointsPerSide: 32, predIouThresh: 0.86, stabilityScoreThresh: 0.92, cropNLayers: 1,
      cropNPointsDownscaleFactor: 2, minMaskRegionArea: 7, boxNmsThresh: 0.7,
    });
  });

  it.each([
    [{ predIouThresh: 2 }, 'Expected number in [0, 1] for predIouThresh but received 2 of type number'],
    [{ pointsPerSide: 0 }, 'Expected integer in [1, 1024] for pointsPerSide but received 0 of type number'],
    [{ pointsPerBatch: 1.5 }, 'Expected integer in [1, 65536] for pointsPerBatch but received 1.5 of type number'],
    [{ boxNmsThresh: Number.NaN }, 'Expected number in [0, 1] for boxNmsThresh but received NaN of type number'],
    [{ cropNLayers: '1x' }, 'Expected integer in [0, 6] for cropNLayers but received 1x of type string'],
    [{ stabilityScoreOffset: ' ' }, 'Expected number in [0, 1000] for stabilityScoreOffset but received   of type string'],
    [{ pointz: 3 } as object, 'Expected a known setting ('],
  ])('reject %j with one message shape', (input, message) => {
    expect(() => resolveSettings(input)).toThrow(UsageError);
    expect(() => resolveSettings(input)).toThrow(message);
  });

  it('accept numeric strings as a command line gives them', () => {
    expect(resolveSettings({ predIouThresh: '0.5', pointsPerSide: '16', stabilityScoreOffset: '1e-1' })).toMatchObject({
      predIouThresh: 0.5, pointsPerSide: 16, stabilityScoreOffset: 0.1,
    });
  });

  it('reject an unknown preset', () => {
    expect(() => resolveSettings({}, 'fastest')).toThrow('Expected one of default, dense, sa1b, fast for preset but received fastest of type string');
  });

  it('are validated by generateMasks before any model call', async () => {
    const model: PromptModel = {
      lowResSize: 256,
      embed: () => { throw new Error('must not be called'); },
      decode: () => { throw new Error('must not be called'); },
    };
    await expect(generateMasks({ width: 1, height: 1, data: new Uint8Array(3) }, model, { cropNmsThresh: -0.1 }))
      .rejects.toThrow('Expected number in [0, 1] for cropNmsThresh but received -0.1 of type number');
  });
});
