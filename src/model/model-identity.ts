import { access } from 'node:fs/promises';
import path from 'node:path';
import type { ModelIdentity } from '../output/run-identity.js';
import { recordedOrHashed, sha256File } from './file-digest.js';
import { readModelConfig } from './model-config.js';
import type { ModelFiles } from './sam-onnx.js';

/** The SHA-256 of each model file, as outputs record it. A pulled model's checksums stand while its files are untouched; other files are hashed. */
export async function modelIdentity(files: ModelFiles): Promise<ModelIdentity> {
  const configExists = files.config ? await access(files.config).then(() => true, () => false) : false;
  const digests = configExists ? (await readModelConfig(files.config!)).digests ?? {} : {};
  const recorded = (file: string) => (configExists && path.dirname(file) === path.dirname(files.config!) ? digests[path.basename(file)] : undefined);
  return {
    encoder: await recordedOrHashed(files.encoder, recorded(files.encoder)),
    decoder: await recordedOrHashed(files.decoder, recorded(files.decoder)),
    config: configExists ? await sha256File(files.config!) : null,
  };
}
