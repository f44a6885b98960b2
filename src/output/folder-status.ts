import { joinLocation } from '../storage/location.js';
import { storeFor } from '../storage/store.js';
import { MANIFEST_FILE } from './layout.js';
import { shardOfPath } from './shard.js';
import { readFailuresFiles } from './failures-files.js';
import { findOutputFiles, readSa1bFile } from './read-outputs.js';
import type { RunIdentity } from './run-identity.js';
import { checkRunIdentity } from './sa1b-schema.js';

/** Images done and failed in one shard of an output folder. */
export interface ShardStatus {
  /** "i/n"; null for a folder that is not sharded, and for failures of runs with no or another shard count. */
  shard: string | null;
  done: number;
  failed: number;
}

export interface FolderStatus {
  out: string;
  /** From the run manifest; null when the folder has none (yet). */
  fingerprint: string | null;
  format: string | null;
  settings: Record<string, number | string> | null;
  shards: ShardStatus[];
  done: number;
  failed: number;
  /** Outputs made with another model or other settings than the manifest's. */
  otherFingerprint: number;
  /** Output files that could not be read as per-image files. */
  unreadable: { path: string; reason: string }[];
}

type Unreadable = FolderStatus['unreadable'][number];

/**
 * The run manifest, or why it cannot be used (status goes on without it);
 * undefined when there is none or it cannot be read at all (a run may be
 * replacing it).
 */
async function readManifest(file: string): Promise<{ identity?: RunIdentity; unreadable?: Unreadable } | undefined> {
  const bytes = await storeFor(file).read(file).catch(() => undefined);
  if (bytes === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    return { unreadable: { path: file, reason: `not valid JSON (${(err as Error).message.split('\n')[0]})` } };
  }
  try {
    return { identity: checkRunIdentity(parsed) };
  } catch (err) {
    return { unreadable: { path: file, reason: `not a run manifest (${(err as Error).message})` } };
  }
}

/**
 * What an output folder holds, read while shards may be writing into it:
 * only whole files are read (writers rename complete files into place and
 * their temporaries are skipped), nothing is locked or written. Outputs are
 * counted per shard by the same hash of their image's relative path the
 * shards partition by; the shard count is `shards`, or the one the
 * per-shard failures files name, or none.
 */
export async function folderStatus(out: string, shards?: number): Promise<FolderStatus> {
  const manifestFile = joinLocation(out, MANIFEST_FILE);
  const manifest = await readManifest(manifestFile);
  const failuresFiles = await readFailuresFiles(out);
  const count = shards ?? failuresFiles.find((f) => f.shard)?.shard!.count;
  const byShard = new Map<number, ShardStatus>();
  const slot = (index: number) => {
    let s = byShard.get(index);
    if (!s) byShard.set(index, (s = { shard: count && index >= 0 ? `${index}/${count}` : null, done: 0, failed: 0 }));
    return s;
  };
  if (count) for (let i = 0; i < count; i++) slot(i);
  const status: FolderStatus = {
    out, fingerprint: manifest?.identity?.fingerprint ?? null, format: manifest?.identity?.format ?? null, settings: manifest?.identity?.settings ?? null,
    shards: [], done: 0, failed: 0, otherFingerprint: 0, unreadable: manifest?.unreadable ? [manifest.unreadable] : [],
  };
  for (const file of await findOutputFiles(out)) {
    let data;
    try {
      data = await readSa1bFile(file);
    } catch (err) {
      // Replaced between listing and reading (an --overwrite run): not an unreadable output.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      status.unreadable.push({ path: file, reason: (err as Error).message.replace(`${file}: `, '') });
      continue;
    }
    if (!data) continue;
    if (status.fingerprint && data.info?.fingerprint !== status.fingerprint) status.otherFingerprint++;
    slot(count ? shardOfPath(data.image.file_name, count) : 0).done++;
  }
  for (const f of failuresFiles) {
    // Failures of an unsharded run, or of a run with another shard count, cannot be placed in a shard.
    const index = f.shard && f.shard.count === count ? f.shard.index : count ? -1 : 0;
    slot(index).failed += f.failures.length;
  }
  status.shards = [...byShard.entries()].sort((a, b) => a[0] - b[0]).map(([, s]) => s);
  status.done = status.shards.reduce((n, s) => n + s.done, 0);
  status.failed = status.shards.reduce((n, s) => n + s.failed, 0);
  return status;
}

/** The status as lines for a person. */
export function formatStatus(s: FolderStatus): string {
  const manifestUnreadable = s.unreadable.some((u) => u.path === joinLocation(s.out, MANIFEST_FILE));
  const run = s.fingerprint ? `fingerprint ${s.fingerprint.slice(0, 12)}…, format ${s.format}`
    : manifestUnreadable ? 'run manifest unreadable (listed below)' : 'no run manifest (no run has claimed it yet)';
  const lines = [`${s.out}: ${run}`];
  for (const shard of s.shards) {
    const name = shard.shard !== null ? `shard ${shard.shard}` : s.shards.length > 1 ? 'runs with another shard count' : 'all images';
    lines.push(`  ${name}: ${shard.done} done, ${shard.failed} failed`);
  }
  lines.push(`  total: ${s.done} done, ${s.failed} failed`);
  if (s.otherFingerprint) lines.push(`  ${s.otherFingerprint} output(s) made with another model or other settings than the manifest's`);
  for (const u of s.unreadable) lines.push(`  unreadable: ${u.path}: ${u.reason}`);
  return `${lines.join('\n')}\n`;
}
