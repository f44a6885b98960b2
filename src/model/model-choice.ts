import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ProgressFn } from '../storage/download.js';
import { optionName, UsageError, type OptionNames } from '../errors.js';
import { ModelError } from './model-error.js';
import { pullModel } from './pull.js';
import {
  baseUrl, cacheDir, entryOf, formatSize, loadRegistry, modelDirOf, type Registry,
} from './registry.js';
import { modelFilesIn, type ModelFiles } from './sam-onnx.js';

/** Which model a run uses: a registry name or a folder, or an encoder and decoder file. */
export interface ModelChoice {
  model?: string;
  encoder?: string;
  decoder?: string;
}

/** What a pull tells as it goes. */
export interface PullHooks {
  /** One line each: what is about to be downloaded, from where, and a licence that limits use. */
  onNotice?: (line: string) => void;
  /** Called for each file once its server answers; returns a callback for the bytes received. */
  onDownload?: (label: string, url: string) => ProgressFn | undefined;
  env?: NodeJS.ProcessEnv;
  /** Stops a pull under way (its part files are kept, so the next pull resumes). */
  signal?: AbortSignal;
}

const isDir = (p: string) => stat(p).then((s) => s.isDirectory(), () => false);

export async function isCached(cache: string, name: string): Promise<boolean> {
  return access(path.join(modelDirOf(cache, name), 'model.json')).then(() => true, () => false);
}

/** What a pull is about to fetch, and the licence when it limits use: one line each. */
export function pullAnnouncement(registry: Registry, name: string, cache: string, env = process.env): string[] {
  const e = entryOf(registry, name);
  const files = e.archive ? '1 archive' : '2 files';
  const lines = [`downloading ${name} (${files}, ${formatSize(e)}) from ${baseUrl(registry, env)} into ${cache}`];
  if (e.non_commercial) {
    lines.push(`note: ${name} is licensed under ${e.licence}: not for commercial use; review the licence before using or redistributing its masks`);
  }
  return lines;
}

/**
 * Pulls a registry model, announcing it (size, source, licence) once its
 * server answers. Returns the cached folder.
 */
export async function pullAnnounced(registry: Registry, name: string, cache: string, hooks: PullHooks = {}): Promise<string> {
  const env = hooks.env ?? process.env;
  let announced = false;
  return pullModel(registry, name, {
    cache,
    env,
    signal: hooks.signal,
    onFile: (label, url) => {
      if (!announced) for (const line of pullAnnouncement(registry, name, cache, env)) hooks.onNotice?.(line);
      announced = true;
      return hooks.onDownload?.(label, url);
    },
  });
}

/**
 * The model files a run uses: an encoder and a decoder file, a model folder,
 * or a registry name (default: the registry's default) from the cache,
 * pulled on first use. `names` picks how messages name the options.
 */
export async function chooseModel(o: ModelChoice, hooks: PullHooks & { names?: OptionNames } = {}): Promise<ModelFiles> {
  const env = hooks.env ?? process.env;
  const n = (key: string) => optionName(key, hooks.names);
  if (o.model && (o.encoder || o.decoder)) throw new UsageError(`use either ${n('model')} or ${n('encoder')}/${n('decoder')}, not both`);
  if (o.encoder && o.decoder) return { encoder: o.encoder, decoder: o.decoder };
  if (o.encoder || o.decoder) throw new UsageError(`${n('encoder')} and ${n('decoder')} go together`);
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
    return await modelFilesIn(await pullAnnounced(registry, name, cache, { ...hooks, env }));
  } catch (err) {
    if (err instanceof ModelError && /cannot reach|broke off|HTTP \d/.test(err.message)) {
      const how = o.model ? '' : ` (no ${n('model')} given, so the default)`;
      const instead = hooks.names === 'flags' ? 'pass --model DIR' : 'give model a folder';
      throw new UsageError(`no model: ${name}${how} is not cached in ${cache} and could not be downloaded: ${err.message}; ` +
        `connect to the network, set SAM_AMG_MODEL_BASE_URL to a mirror, or ${instead}`);
    }
    throw err;
  }
}
