import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import yauzl from 'yauzl';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { DownloadError, downloadFile, type DownloadLimits, type ProgressFn } from '../storage/download.js';
import { digestRecord, sha256File } from './file-digest.js';
import { ModelError } from './model-error.js';
import {
  baseUrl, downloadsDirOf, entryOf, modelDirOf, Pins, sourceUrl, type Registry, type RegistryEntry, type Source,
} from './registry.js';
import { SamOnnxModel } from './sam-onnx.js';

export interface PullOptions {
  cache: string;
  env?: NodeJS.ProcessEnv;
  /** Called for each file once its server answers; returns a progress callback for bytes received. */
  onFile?: (label: string, url: string) => ProgressFn | undefined;
  /** Default MODEL_DOWNLOAD_LIMITS. */
  limits?: DownloadLimits;
  /** Stops the pull: what it throws is then the signal's reason; the part file is kept for the next pull to resume. */
  signal?: AbortSignal;
}

/**
 * Model files run to several GB: no limit on the whole download's time and
 * a size limit only against a runaway body; a minute without a byte fails an
 * attempt, and each retry (stalls included) resumes where the last broke off.
 */
export const MODEL_DOWNLOAD_LIMITS: DownloadLimits = { timeoutSeconds: 60, maxBytes: 64 * 2 ** 30, retries: 3 };

/** A failed download in pull's words: a break names what is kept for the next pull to resume. */
function pullError(err: DownloadError): ModelError {
  const { url, failure: f, received } = err;
  const tries = err.exhausted && err.attempts > 1 ? err.attempts : 0;
  switch (f.kind) {
    case 'unreachable': return new ModelError(`cannot reach ${url}${tries ? ` after ${tries} attempts` : ''} (${f.cause})`);
    case 'dropped':
    case 'stalled': {
      const cause = f.kind === 'dropped' ? f.cause : `no data for ${f.seconds} s`;
      return new ModelError(`download of ${url} broke off after ${received} bytes${tries ? ` and ${tries} attempts` : ''} (${cause}); run the same command again to resume`);
    }
    case 'digest': return new ModelError(`checksum mismatch for ${url}: expected sha256 ${f.expected}, got ${f.sha256}; the download was deleted`);
    case 'size': return new ModelError(`size mismatch for ${url}: expected ${f.expected} bytes, got ${f.size}; the download was deleted`);
    default: return new ModelError(err.message);
  }
}

/** What a model folder's model.json says beyond the runtime settings: where it came from. */
interface PulledModelJson {
  name: string;
  family: string;
  input_size: number;
  encoder: string;
  decoder: string;
  files_sha256: Record<string, string>;
  /** Size and modification time of each file when its checksum was taken: runs trust the checksum while both hold. */
  files_stat: Record<string, { size: number; mtime_ms: number }>;
  source: string;
}

/**
 * Downloads one source (resuming the part file an earlier pull left in the
 * cache's downloads), verifies its size and SHA-256 (or records the digest
 * when none is published or pinned) and renames it to `dest`.
 */
async function fetchVerified(entry: RegistryEntry, role: string, source: Source, registry: Registry, o: PullOptions, pins: Pins, dest: string): Promise<void> {
  const url = sourceUrl(baseUrl(registry, o.env), source);
  const downloads = downloadsDirOf(o.cache);
  await mkdir(downloads, { recursive: true });
  const key = `${entry.name}/${role}`;
  const expected = source.sha256 ?? pins.get(key);
  const got = await downloadFile(url, {
    partFile: path.join(downloads, `${entry.name}.${role}.${path.basename(source.path)}.part`),
    dest,
    size: source.size,
    sha256: expected ?? undefined,
    limits: o.limits ?? MODEL_DOWNLOAD_LIMITS,
    retryStalls: true,
    signal: o.signal,
    onStart: () => o.onFile?.(`${entry.name} ${role}`, url),
  }).catch((err) => {
    throw err instanceof DownloadError ? pullError(err) : err;
  });
  if (!expected) await pins.record(key, got.sha256);
}

function unzip(zipFile: string, into: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    yauzl.open(zipFile, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(new ModelError(`${zipFile}: not a readable zip (${err?.message})`));
      const names: string[] = [];
      zip.on('error', reject);
      zip.on('end', () => resolve(names));
      zip.on('entry', (entry: yauzl.Entry) => {
        if (entry.fileName.endsWith('/')) return zip.readEntry();
        // Members are flattened: external-data files must sit beside their model under their own name.
        const name = path.basename(entry.fileName);
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(e);
          names.push(name);
          pipeline(stream, createWriteStream(path.join(into, name))).then(() => zip.readEntry(), reject);
        });
      });
      zip.readEntry();
    });
  });
}

function pickMember(names: string[], key: string, entry: RegistryEntry, role: string): string {
  const found = names.filter((n) => n.endsWith('.onnx') && n.toLowerCase().includes(key.toLowerCase()));
  if (found.length !== 1) {
    throw new ModelError(`${entry.name}: the archive holds ${found.length} .onnx files matching "${key}" for the ${role} (${names.join(', ')})`);
  }
  return found[0];
}

/**
 * Fetches a registry model into the cache: downloads (resuming partial
 * files), verifies SHA-256 (or records it when none is published), unpacks
 * archives, checks that the pair can serve AMG, then renames the finished
 * folder into place. Nothing unverified or half-written is ever left in
 * `<cache>/models`.
 */
export async function pullModel(registry: Registry, name: string, o: PullOptions): Promise<string> {
  const entry = entryOf(registry, name);
  const pins = await Pins.open(o.cache);
  const finalDir = modelDirOf(o.cache, name);
  const temp = `${finalDir}.${hostname()}.${process.pid}.tmp`;
  await rm(temp, { recursive: true, force: true });
  await mkdir(temp, { recursive: true });
  try {
    let encoder: string;
    let decoder: string;
    if (entry.files) {
      for (const role of ['encoder', 'decoder'] as const) await fetchVerified(entry, role, entry.files[role], registry, o, pins, path.join(temp, `${role}.onnx`));
      [encoder, decoder] = ['encoder.onnx', 'decoder.onnx'];
    } else {
      const archive = entry.archive!;
      // Verified, then unpacked and deleted: kept beside the part files, never in the models folder.
      const zip = path.join(downloadsDirOf(o.cache), `${entry.name}.archive.${hostname()}.${process.pid}.zip`);
      try {
        await fetchVerified(entry, 'archive', archive, registry, o, pins, zip);
        const names = await unzip(zip, temp);
        encoder = pickMember(names, archive.encoder, entry, 'encoder');
        decoder = pickMember(names, archive.decoder, entry, 'decoder');
      } finally {
        await rm(zip, { force: true });
      }
    }
    const sums: Record<string, string> = {};
    const stats: PulledModelJson['files_stat'] = {};
    for (const f of (await readdir(temp)).sort()) {
      const record = await digestRecord(path.join(temp, f));
      sums[f] = record.sha256;
      stats[f] = { size: record.size, mtime_ms: record.mtimeMs };
    }
    const json: PulledModelJson = {
      name, family: entry.family, input_size: entry.input_size, encoder, decoder, files_sha256: sums, files_stat: stats,
      source: entry.files ? sourceUrl(registry.baseUrl, entry.files.encoder) : sourceUrl(registry.baseUrl, entry.archive!),
    };
    await writeFile(path.join(temp, 'model.json'), `${JSON.stringify(json, null, 1)}\n`);
    // The pair must load as its family and be able to serve AMG before it counts as pulled.
    const model = await SamOnnxModel.loadDir(temp);
    await model.release();
    await rm(finalDir, { recursive: true, force: true });
    await rename(temp, finalDir);
    return finalDir;
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    throw err;
  }
}

/** Recomputes the checksums of a cached model's files against those recorded when it was pulled. */
export async function verifyCachedModel(cache: string, name: string): Promise<{ ok: boolean; problems: string[] }> {
  const dir = modelDirOf(cache, name);
  let json: PulledModelJson;
  try {
    json = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8'));
  } catch {
    return { ok: false, problems: [`${dir}: not cached (no model.json)`] };
  }
  const problems: string[] = [];
  for (const [file, sum] of Object.entries(json.files_sha256 ?? {})) {
    const actual = await sha256File(path.join(dir, file)).catch(() => 'missing');
    if (actual !== sum) problems.push(`${path.join(dir, file)}: ${actual === 'missing' ? 'missing' : `sha256 ${actual}, expected ${sum}`}`);
  }
  return { ok: problems.length === 0, problems };
}
