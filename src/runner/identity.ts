import { modelIdentity } from '../model/model-identity.js';
import type { ModelFiles } from '../model/sam-onnx.js';
import { identityOf, type OutputFormat, type RunIdentity } from '../output/run-identity.js';
import type { AmgSettings } from '../settings/settings.js';

/** What a run of these model files with these settings records in its manifest and every output. */
export async function runIdentity(files: ModelFiles, settings: AmgSettings, format: OutputFormat): Promise<RunIdentity> {
  return identityOf(await modelIdentity(files), settings, format);
}
