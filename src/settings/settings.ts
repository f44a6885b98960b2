import { checkNumber, invalid, type NumberRule } from './validate.js';

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
}

interface SettingSpec {
  key: keyof AmgSettings;
  flag: string;
  rule: NumberRule;
  defaultValue: number;
  /** Where SAM 2's generator has another default (its `automatic_mask_generator.py`). */
  sam2Default?: number;
  help: string;
  /** Changes the masks (false for speed knobs). */
  affectsOutput: boolean;
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
];

/** The defaults of the reference a model follows. */
export function defaultSettings(reference: AmgReference = 'sam'): Readonly<AmgSettings> {
  const value = (s: SettingSpec) => (reference === 'sam2' ? s.sam2Default ?? s.defaultValue : s.defaultValue);
  return Object.freeze(Object.fromEntries(SETTING_SPECS.map((s) => [s.key, value(s)])) as unknown as AmgSettings);
}

/** SAM's defaults (`SamAutomaticMaskGenerator`). */
export const DEFAULT_SETTINGS: Readonly<AmgSettings> = defaultSettings('sam');

/** The SAM example notebook's settings for denser, cleaner masks. */
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
});

export type SettingsInput = Partial<Record<keyof AmgSettings, unknown>>;

/**
 * The one place settings are checked: the defaults of the model's
 * reference, then the preset, then explicit values, each validated with the
 * message shape of `invalid`. `labels` picks the names used in messages
 * (setting names for the API, flags for the CLI).
 */
export function resolveSettings(
  input: SettingsInput = {},
  preset = 'default',
  labels: 'keys' | 'flags' = 'keys',
  reference: AmgReference = 'sam',
): AmgSettings {
  const base = PRESETS[preset];
  if (!base) {
    throw invalid(`one of ${Object.keys(PRESETS).join(', ')}`, labels === 'flags' ? '--preset' : 'preset', preset);
  }
  const known = new Set<string>(SETTING_SPECS.map((s) => s.key));
  for (const key of Object.keys(input)) {
    if (!known.has(key)) throw invalid(`a known setting (${[...known].join(', ')})`, 'setting name', key);
  }
  const out = { ...defaultSettings(reference), ...base } as AmgSettings;
  for (const spec of SETTING_SPECS) {
    const raw = input[spec.key];
    if (raw === undefined) continue;
    out[spec.key] = checkNumber(labels === 'flags' ? spec.flag : spec.key, raw, spec.rule);
  }
  return out;
}
