import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../storage/atomic-write.js';
import { PACKAGE_ROOT } from '../package-root.js';
import { invalid, UsageError } from '../errors.js';
import { FAMILIES, type FamilyId } from './families.js';

/** One downloadable file: `<base>/<repo>/resolve/<revision>/<path>`. */
export interface Source {
  repo: string;
  revision: string;
  path: string;
  size: number | null;
  /** null: none published; the first successful pull records one. */
  sha256: string | null;
  sha256_source: string;
}

export interface ArchiveSource extends Source {
  /** Substrings naming the encoder and decoder .onnx members. */
  encoder: string;
  decoder: string;
}

export interface RegistryEntry {
  name: string;
  description: string;
  family: FamilyId;
  input_size: number;
  licence: string;
  non_commercial: boolean;
  files?: { encoder: Source; decoder: Source };
  archive?: ArchiveSource;
  notes?: string;
}

export interface Registry {
  default: string;
  baseUrl: string;
  models: Map<string, RegistryEntry>;
}

const REGISTRY_FILE = path.join(PACKAGE_ROOT, 'models', 'registry.json');

/** The registry file: `$SAM_AMG_REGISTRY` when set (mirrors, tests), else the one this package ships. */
export function registryPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.SAM_AMG_REGISTRY || REGISTRY_FILE;
}

function checkSource(s: unknown, where: string, archive: boolean): void {
  const o = s as Record<string, unknown>;
  if (typeof o !== 'object' || o === null) throw invalid('an object', where, s);
  for (const k of ['repo', 'revision', 'path', 'sha256_source', ...(archive ? ['encoder', 'decoder'] : [])]) {
    if (typeof o[k] !== 'string' || !o[k]) throw invalid('a non-empty string', `${where}.${k}`, o[k]);
  }
  if (o.sha256 !== null && !(typeof o.sha256 === 'string' && /^[0-9a-f]{64}$/.test(o.sha256))) {
    throw invalid('64 hex digits or null', `${where}.sha256`, o.sha256);
  }
  if (o.size !== null && !(Number.isInteger(o.size) && (o.size as number) > 0)) throw invalid('positive integer or null', `${where}.size`, o.size);
}

/** Reads and checks a registry file; every problem names the entry and field. */
export function loadRegistry(file = registryPath()): Registry {
  let raw: { default?: unknown; base_url?: unknown; models?: Record<string, unknown> };
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`${file}: cannot read the model registry (${(err as Error).message.split('\n')[0]})`);
  }
  const models = new Map<string, RegistryEntry>();
  for (const [name, value] of Object.entries(raw.models ?? {})) {
    const e = value as RegistryEntry;
    const where = `models.${name} in ${file}`;
    if (!(e.family in FAMILIES)) throw invalid(`one of ${Object.keys(FAMILIES).join(', ')}`, `${where}.family`, e.family);
    if (!Number.isInteger(e.input_size)) throw invalid('an integer', `${where}.input_size`, e.input_size);
    if (!!e.files === !!e.archive) throw invalid('exactly one of files, archive', where, Object.keys(e));
    if (e.files) {
      checkSource(e.files.encoder, `${where}.files.encoder`, false);
      checkSource(e.files.decoder, `${where}.files.decoder`, false);
    } else checkSource(e.archive, `${where}.archive`, true);
    models.set(name, { ...e, name, non_commercial: !!e.non_commercial });
  }
  const dflt = String(raw.default ?? '');
  if (!models.has(dflt)) throw invalid(`a model name of ${file}`, 'default', raw.default);
  return { default: dflt, baseUrl: String(raw.base_url ?? 'https://huggingface.co'), models };
}

export function entryOf(registry: Registry, name: string): RegistryEntry {
  const e = registry.models.get(name);
  if (!e) throw new UsageError(`${name}: not a model name (known: ${[...registry.models.keys()].join(', ')})`);
  return e;
}

export function sourceUrl(base: string, s: Source): string {
  return `${base.replace(/\/+$/, '')}/${s.repo}/resolve/${s.revision}/${s.path.split('/').map(encodeURIComponent).join('/')}`;
}

/** Download base: `$SAM_AMG_MODEL_BASE_URL` (a mirror, or a test server) or the registry's. */
export function baseUrl(registry: Registry, env: NodeJS.ProcessEnv = process.env): string {
  return env.SAM_AMG_MODEL_BASE_URL || registry.baseUrl;
}

/** `$SAM_AMG_HOME`, else `$XDG_CACHE_HOME/sam-amg`, else `~/.cache/sam-amg`. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SAM_AMG_HOME) return path.resolve(env.SAM_AMG_HOME);
  if (env.XDG_CACHE_HOME) return path.join(path.resolve(env.XDG_CACHE_HOME), 'sam-amg');
  return path.join(homedir(), '.cache', 'sam-amg');
}

export const modelDirOf = (cache: string, name: string) => path.join(cache, 'models', name);
export const downloadsDirOf = (cache: string) => path.join(cache, 'downloads');

function sources(e: RegistryEntry): Source[] {
  return e.archive ? [e.archive] : [e.files!.encoder, e.files!.decoder];
}

/** The download size, "≥ n" when some file's size is not published. */
export function formatSize(e: RegistryEntry): string {
  const known = sources(e).map((s) => s.size).filter((n): n is number => n !== null);
  if (known.length === 0) return 'size unknown';
  const text = formatBytes(known.reduce((a, b) => a + b, 0));
  return known.length < sources(e).length ? `≥ ${text}` : text;
}

export function formatBytes(n: number | null): string {
  if (n === null) return 'size unknown';
  if (n < 1e6) return `${(n / 1e3).toFixed(0)} kB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e9).toFixed(2)} GB`;
}

/** Checksums recorded by first pulls of files that publish none, keyed "<model>/<encoder|decoder|archive>". */
export class Pins {
  private constructor(private readonly file: string, private readonly pins: Record<string, string>) {}

  static async open(cache: string): Promise<Pins> {
    const file = path.join(cache, 'pins.json');
    const text = await readFile(file, 'utf8').catch(() => '{}');
    return new Pins(file, JSON.parse(text));
  }

  get(key: string): string | undefined {
    return this.pins[key];
  }

  async record(key: string, sha256: string): Promise<void> {
    this.pins[key] = sha256;
    await writeFileAtomic(this.file, `${JSON.stringify(this.pins, null, 1)}\n`);
  }
}
