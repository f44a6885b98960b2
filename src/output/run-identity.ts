import { createHash } from 'node:crypto';
import { SETTING_SPECS, type AmgSettings } from '../settings/settings.js';
import { VERSION } from '../version.js';

export type OutputFormat = 'json' | 'png';

/** The SHA-256 of each model file (the config's is null when there is none): what outputs record of the model. */
export interface ModelIdentity {
  encoder: string;
  decoder: string;
  config: string | null;
}

/**
 * What produced an output: recorded in every output file and in the run
 * manifest. The fingerprint covers the model files and every setting that
 * changes masks (not points_per_batch), so a resumed run can tell whether an
 * existing output is what it would write itself.
 */
export interface RunIdentity {
  tool: 'sam-amg';
  version: string;
  fingerprint: string;
  format: OutputFormat;
  model: ModelIdentity;
  settings: Record<string, number | string>;
}

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * The settings that change masks, with the reference's snake_case names.
 * Custom point grids are recorded by the SHA-256 of their JSON, in place of
 * points_per_side, which they replace. Hierarchical sampling is recorded
 * with its high_score_thresh.
 */
export function outputSettings(settings: AmgSettings): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const spec of SETTING_SPECS) {
    if (!spec.affectsOutput) continue;
    if (spec.recordedWhenSet && settings[spec.key] === spec.defaultValue) continue;
    if (spec.hierarchicalOnly && settings.sampling !== 'hierarchical') continue;
    if (spec.key === 'pointsPerSide' && settings.pointGrids) continue;
    out[snake(spec.key)] = settings[spec.key];
  }
  // Grid sampling is not recorded, so folders made before it existed keep their fingerprint.
  if (settings.sampling === 'hierarchical') out.sampling = settings.sampling;
  if (settings.pointGrids) {
    const grids = settings.pointGrids.map((g) => Array.from(g));
    out.point_grids = createHash('sha256').update(JSON.stringify(grids)).digest('hex');
  }
  return out;
}

/** The identity of a run of `model` with `settings`, writing `format`. */
export function identityOf(model: ModelIdentity, settings: AmgSettings, format: OutputFormat): RunIdentity {
  const chosen = outputSettings(settings);
  const fingerprint = createHash('sha256').update(JSON.stringify({ model, settings: chosen })).digest('hex');
  return { tool: 'sam-amg', version: VERSION, fingerprint, format, model, settings: chosen };
}
