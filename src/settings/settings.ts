import { checkNumber, invalid, UsageError, type NumberRule } from '../errors.js';

/**
 * Whose automatic mask generator a model's masks follow: SAM's
 * `SamAutomaticMaskGenerator`, or SAM 2's `SAM2AutomaticMaskGenerator`
 * (its own default IoU threshold, and small regions cleaned on the
 * low-resolution logits).
 */
export type AmgReference = 'sam' | 'sam2';

/** The reference `SamAutomaticMaskGenerator` settings (camelCase). */
export interface AmgSettings {
  pointsPerSide: number;
  pointsPerBatch: number;
  predIouThresh: number;
  stabilityScoreThresh: number;
  stabilityScoreOffset: number;
  boxNmsThresh: number;
  cropNLayers: number;
  cropNmsThresh: number;
  cropOverlapRatio: number;
  cropNPointsDownscaleFactor: number;
  minMaskRegionArea: number;
  /** Final masks of fewer pixels are discarded (0: none). */
  minMaskArea: number;
  /** Final masks covering at least this fraction of the image are discarded (0: none). */
  maxMaskAreaFraction: number;
  /** The reference's `point_grids`: normalised (x, y) pairs per crop layer, used instead of pointsPerSide; null: the regular grids. */
  pointGrids: Float64Array[] | null;
  /**
   * 'grid': every point of each crop's grid, the reference's semantics;
   * 'hierarchical': TinySAM's hierarchical sampling, a quarter-density grid
   * first and the full density only where its masks left the image uncovered.
   */
  sampling: Sampling;
  /** Hierarchical sampling: a first-pass pixel is covered where a kept mask's logit exceeds this (TinySAM's `high_score_thresh`). */
  highScoreThresh: number;
}

export const SAMPLINGS = ['grid', 'hierarchical'] as const;
export type Sampling = (typeof SAMPLINGS)[number];

/** The settings given as numbers on the command line. */
export type NumericSettingKey = Exclude<keyof AmgSettings, 'pointGrids' | 'sampling'>;

interface SettingSpec {
  key: NumericSettingKey;
  flag: string;
  rule: NumberRule;
  defaultValue: number;
  /** Where SAM 2's generator has another default (its `automatic_mask_generator.py`). */
  sam2Default?: number;
  help: string;
  /** Changes the masks (false for speed knobs). */
  affectsOutput: boolean;
  /**
   * Recorded (and fingerprinted) only when set: added after outputs existed,
   * so folders made before keep their fingerprint.
   */
  recordedWhenSet?: boolean;
  /** Changes the masks of hierarchical sampling only: recorded with it, and not with the grid. */
  hierarchicalOnly?: boolean;
}

const unit: NumberRule = { min: 0, max: 1 };

export const SETTING_SPECS: readonly SettingSpec[] = [
  { key: 'pointsPerSide', flag: '--points-per-side', rule: { integer: true, min: 1, max: 1024 }, defaultValue: 32,
    help: 'grid points per side on crop layer 0', affectsOutput: true },
  { key: 'pointsPerBatch', flag: '--points-per-batch', rule: { integer: true, min: 1, max: 65536 }, defaultValue: 64,
    help: 'prompts per decoder batch (speed only, never changes masks)', affectsOutput: false },
  { key: 'predIouThresh', flag: '--pred-iou-thresh', rule: unit, defaultValue: 0.88, sam2Default: 0.8,
    help: 'keep masks with predicted IoU above this (0 disables)', affectsOutput: true },
  { key: 'stabilityScoreThresh', flag: '--stability-score-thresh', rule: unit, defaultValue: 0.95,
    help: 'keep masks with stability score at least this (0 disables)', affectsOutput: true },
  { key: 'stabilityScoreOffset', flag: '--stability-score-offset', rule: { min: 0, max: 1000 }, defaultValue: 1.0,
    help: 'logit offset for the stability score', affectsOutput: true },
  { key: 'boxNmsThresh', flag: '--box-nms-thresh', rule: unit, defaultValue: 0.7,
    help: 'box IoU threshold for NMS inside a crop', affectsOutput: true },
  { key: 'cropNLayers', flag: '--crop-n-layers', rule: { integer: true, min: 0, max: 6 }, defaultValue: 0,
    help: 'extra crop layers; layer i has (2^i)^2 crops', affectsOutput: true },
  { key: 'cropNmsThresh', flag: '--crop-nms-thresh', rule: unit, defaultValue: 0.7,
    help: 'box IoU threshold for NMS across crops', affectsOutput: true },
  { key: 'cropOverlapRatio', flag: '--crop-overlap-ratio', rule: { min: 0, max: 1, maxExclusive: true },
    defaultValue: 512 / 1500, help: 'overlap of layer-1 crops as a fraction of the short side', affectsOutput: true },
  { key: 'cropNPointsDownscaleFactor', flag: '--crop-n-points-downscale-factor', rule: { integer: true, min: 1, max: 1024 },
    defaultValue: 1, help: 'layer i uses points-per-side / factor^i points per side', affectsOutput: true },
  { key: 'minMaskRegionArea', flag: '--min-mask-region-area', rule: { integer: true, min: 0 }, defaultValue: 0,
    help: 'remove holes and islands smaller than this many pixels (0 disables); SAM 2 models: of at most this many pixels of the 256² logits, as SAM 2\'s predictor', affectsOutput: true },
  { key: 'minMaskArea', flag: '--min-mask-area', rule: { integer: true, min: 0 }, defaultValue: 0,
    help: 'discard final masks of fewer pixels than this (0 disables)', affectsOutput: true, recordedWhenSet: true },
  { key: 'maxMaskAreaFraction', flag: '--max-mask-area-fraction', rule: unit, defaultValue: 0,
    help: 'discard final masks covering this fraction of the image or more (0 disables)', affectsOutput: true, recordedWhenSet: true },
  { key: 'highScoreThresh', flag: '--high-score-thresh', rule: { min: -1000, max: 1000 }, defaultValue: 8.5,
    help: 'hierarchical sampling: a pixel counts as covered where a first-pass mask\'s logit is above this', affectsOutput: true, hierarchicalOnly: true },
];

/** The defaults of the reference a model follows. */
export function defaultSettings(reference: AmgReference = 'sam'): Readonly<AmgSettings> {
  const value = (s: SettingSpec) => (reference === 'sam2' ? s.sam2Default ?? s.defaultValue : s.defaultValue);
  return Object.freeze({ ...Object.fromEntries(SETTING_SPECS.map((s) => [s.key, value(s)])), pointGrids: null, sampling: 'grid' } as unknown as AmgSettings);
}

/** SAM's defaults (`SamAutomaticMaskGenerator`). */
export const DEFAULT_SETTINGS: Readonly<AmgSettings> = defaultSettings('sam');

/**
 * `dense`: the SAM example notebook's settings for denser, cleaner masks.
 * `sa1b`: the fully automatic stage of the SAM data engine that made SA-1B
 * (SAM paper, appendix B): a 32² grid on the image, 16² on the 2×2 and 8² on
 * the 4×4 overlapping crops, predicted IoU above 0.88, stability at least
 * 0.95 with logits thresholded at ±1, box NMS 0.7, holes and islands under
 * 100 pixels removed, masks covering 95 % of the image or more discarded.
 * `fast`: the default settings with TinySAM's hierarchical sampling.
 */
export const PRESETS: Readonly<Record<string, Partial<AmgSettings>>> = Object.freeze({
  default: {},
  dense: {
    pointsPerSide: 32,
    predIouThresh: 0.86,
    stabilityScoreThresh: 0.92,
    cropNLayers: 1,
    cropNPointsDownscaleFactor: 2,
    minMaskRegionArea: 100,
  },
  sa1b: {
    pointsPerSide: 32,
    cropNLayers: 2,
    cropNPointsDownscaleFactor: 2,
    predIouThresh: 0.88,
    stabilityScoreThresh: 0.95,
    stabilityScoreOffset: 1,
    boxNmsThresh: 0.7,
    minMaskRegionArea: 100,
    maxMaskAreaFraction: 0.95,
  },
  fast: {
    sampling: 'hierarchical',
  },
});

export type SettingsInput = Partial<Record<keyof AmgSettings, unknown>>;

/**
 * Settings checked before any model loads: the preset's values and the
 * explicit ones. What neither sets takes the default of the model's
 * reference (`completeSettings`), which is known only once the model is.
 */
export interface CheckedSettings {
  readonly given: Readonly<Partial<AmgSettings>>;
}

/**
 * The one place settings are checked: the preset, then explicit values, each
 * validated with the message shape of `invalid`. `labels` picks the names
 * used in messages (setting names for the API, flags for the CLI). No check
 * depends on the model's reference: the defaults it changes are checked by
 * none of the rules across settings.
 */
export function checkSettings(input: SettingsInput = {}, preset = 'default', labels: 'keys' | 'flags' = 'keys'): CheckedSettings {
  const base = PRESETS[preset];
  if (!base) {
    throw invalid(`one of ${Object.keys(PRESETS).join(', ')}`, labels === 'flags' ? '--preset' : 'preset', preset);
  }
  const known = new Set<string>([...SETTING_SPECS.map((s) => s.key), 'pointGrids', 'sampling']);
  for (const key of Object.keys(input)) {
    if (!known.has(key)) throw invalid(`a known setting (${[...known].join(', ')})`, 'setting name', key);
  }
  const given: Partial<AmgSettings> = { ...base };
  for (const spec of SETTING_SPECS) {
    const raw = input[spec.key];
    if (raw === undefined) continue;
    given[spec.key] = checkNumber(labels === 'flags' ? spec.flag : spec.key, raw, spec.rule);
  }
  if (input.pointGrids !== undefined && input.pointGrids !== null) {
    const label = labels === 'flags' ? '--point-grids' : 'pointGrids';
    if (input.pointsPerSide !== undefined) {
      throw new UsageError(`Expected ${labels === 'flags' ? '--points-per-side' : 'pointsPerSide'} or ${label}, not both`);
    }
    const cropNLayers = given.cropNLayers ?? DEFAULT_SETTINGS.cropNLayers;
    given.pointGrids = checkPointGrids(input.pointGrids, cropNLayers, label, labels === 'flags' ? '--crop-n-layers' : 'cropNLayers');
  }
  if (input.sampling !== undefined) {
    if (!SAMPLINGS.includes(input.sampling as Sampling)) throw invalid(`one of ${SAMPLINGS.join(', ')}`, labels === 'flags' ? '--sampling' : 'sampling', input.sampling);
    given.sampling = input.sampling as Sampling;
  }
  const checked = { given };
  const sample = completeSettings(checked);
  if (sample.sampling === 'hierarchical') checkHierarchical(sample, labels);
  return checked;
}

/** Checked settings with the defaults of the model's reference where neither the preset nor the caller set one. */
export function completeSettings(checked: CheckedSettings, reference: AmgReference = 'sam'): AmgSettings {
  return { ...defaultSettings(reference), ...checked.given } as AmgSettings;
}

/** `checkSettings` and `completeSettings` at once, when the model's reference is known. */
export function resolveSettings(
  input: SettingsInput = {},
  preset = 'default',
  labels: 'keys' | 'flags' = 'keys',
  reference: AmgReference = 'sam',
): AmgSettings {
  return completeSettings(checkSettings(input, preset, labels), reference);
}

/**
 * Hierarchical sampling builds its passes from each layer's points per side:
 * the first at a quarter of it, so at least 4 (TinySAM's `points_per_side // 4`);
 * custom point grids have no such side.
 */
function checkHierarchical(s: AmgSettings, labels: 'keys' | 'flags'): void {
  const name = (flag: string, key: string) => (labels === 'flags' ? flag : key);
  if (s.pointGrids) {
    throw new UsageError(`${name('--point-grids', 'pointGrids')} cannot be used with ${name('--sampling', 'sampling')} hierarchical: its passes are built from ${name('--points-per-side', 'pointsPerSide')}`);
  }
  for (let layer = 0; layer <= s.cropNLayers; layer++) {
    // As the reference's build_all_layer_point_grids (and buildLayerPointGrids) compute it.
    const side = Math.trunc(s.pointsPerSide / s.cropNPointsDownscaleFactor ** layer);
    if (side < 4) {
      throw new UsageError(`${name('--sampling', 'sampling')} hierarchical needs at least 4 points per side on every crop layer (its first pass has a quarter of them); crop layer ${layer} has ${side}`);
    }
  }
}

/** One list of normalised [x, y] points per crop layer (the reference's `point_grids`), as flat (x, y) arrays. */
function checkPointGrids(value: unknown, cropNLayers: number, label: string, layersLabel: string): Float64Array[] {
  const layers = cropNLayers + 1;
  if (!Array.isArray(value) || value.length !== layers) {
    // A grid's points would make the message long: its length says enough.
    const got = Array.isArray(value) ? value.length : value;
    throw invalid(`${layers} list${layers === 1 ? '' : 's'} of points, one per crop layer (${layersLabel} ${cropNLayers})`, label, got);
  }
  return value.map((grid: unknown, layer) => {
    if (!Array.isArray(grid) || grid.length === 0) {
      throw invalid('a non-empty list of [x, y] points', `${label} layer ${layer}`, grid);
    }
    const flat = new Float64Array(grid.length * 2);
    grid.forEach((point: unknown, k) => {
      const ok = Array.isArray(point) && point.length === 2 &&
        point.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1);
      if (!ok) throw invalid('[x, y] with x and y in [0, 1]', `${label} layer ${layer} point ${k}`, point);
      flat[2 * k] = (point as number[])[0];
      flat[2 * k + 1] = (point as number[])[1];
    });
    return flat;
  });
}
