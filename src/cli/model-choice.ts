import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import { ModelError } from '../model/model-error.js';
import { pullModel } from '../model/pull.js';
import {
  baseUrl, cacheDir, entryOf, formatSize, loadRegistry, modelDirOf, type Registry,
} from '../model/registry.js';
import { modelFilesIn, type ModelFiles } from '../model/sam-onnx.js';
import { UsageError } from '../errors.js';
import { downloadProgress } from './progress.js';

export interface ModelChoice {
  model?: string;
  encoder?: string;
  decoder?: string;
  quiet?: boolean;
}

const isDir = (p: string) => stat(p).then((s) => s.isDirectory(), () => false);

export async function isCached(cache: string, name: string): Promise<boolean> {
  return access(path.join(modelDirOf(cache, name), 'model.json')).then(() => true, () => false);
}

/** Says what a pull is about to fetch, and the licence when it limits use. */
export function announcePull(registry: Registry, name: string, cache: string, env = process.env): void {
  const e = entryOf(registry, name);
  const files = e.archive ? '1 archive' : '2 files';
  process.stderr.write(`sam-amg: downloading ${name} (${files}, ${formatSize(e)}) from ${baseUrl(registry, env)} into ${cache}\n`);
  if (e.non_commercial) {
    process.stderr.write(`sam-amg: note: ${name} is licensed under ${e.licence}: not for commercial use; review the licence before using or redistributing its masks\n`);
  }
}

/**
 * Pulls a registry model, announcing it (size, source, licence) once its
 * server answers, with progress on stderr. Returns the cached folder.
 */
export async function pullAnnounced(registry: Registry, name: string, cache: string, quiet = false, env = process.env): Promise<string> {
  let announced = false;
  const progress = downloadProgress(quiet);
  return pullModel(registry, name, {
    cache,
    env,
    onFile: (label, url) => {
      if (!announced && !quiet) announcePull(registry, name, cache, env);
      announced = true;
      return progress(label, url);
    },
  });
}

/**
 * The model files a run uses: --encoder/--decoder, a --model folder, or a
 * registry name (default: the registry's default) from the cache, pulled
 * on first use.
 */
export async function chooseModel(o: ModelChoice, env: NodeJS.ProcessEnv = process.env): Promise<ModelFiles> {
  if (o.model && (o.encoder || o.decoder)) throw new UsageError('use either --model or --encoder/--decoder, not both');
  if (o.encoder && o.decoder) return { encoder: o.encoder, decoder: o.decoder };
  if (o.encoder || o.decoder) throw new UsageError('--encoder and --decoder go together');
  if (o.model && (await isDir(o.model))) return modelFilesIn(o.model);
  const registry = loadRegistry();
  const name = o.model ?? registry.default;
  if (!registry.models.has(name)) {
    if (o.model && /[/\\]|^\./.test(o.model)) throw new UsageError(`${o.model}: no such model folder`);
    throw new UsageError(`${name}: neither a model folder nor a model name (known: ${[...registry.models.keys()].join(', ')})`);
  }
  const cache = cacheDir(env);
  if (await isCached(cache, name)) return modelFilesIn(modelDirOf(cache, name));
  try {
    return await modelFilesIn(await pullAnnounced(registry, name, cache, o.quiet, env));
  } catch (err) {
    if (err instanceof ModelError && /cannot reach|broke off|HTTP \d/.test(err.message)) {
      const how = o.model ? '' : ' (no --model given, so the default)';
      throw new UsageError(`no model: ${name}${how} is not cached in ${cache} and could not be downloaded: ${err.message}; ` +
        `connect to the network, set SAM_AMG_MODEL_BASE_URL to a mirror, or pass --model DIR`);
    }
    throw err;
  }
}
