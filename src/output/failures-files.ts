import { joinLocation } from '../storage/location.js';
import { storeFor } from '../storage/store.js';

/** `failures.jsonl` of an unsharded run, `failures-<i>-of-<n>.jsonl` of shard i of n (see run-dataset.ts). */
const FAILURES_FILE = /^failures(?:-(\d+)-of-(\d+))?\.jsonl$/;

export interface FailuresFile {
  name: string;
  /** The shard that wrote it; null for an unsharded run. */
  shard: { index: number; count: number } | null;
  failures: { path: string; reason: string }[];
}

/** A line as its run wrote it, `{"path": …, "reason": …}`; undefined for anything else (not JSON, null, a number, a list, other fields). */
export function failureOf(line: string): { path: string; reason: string } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return undefined;
  }
  const { path, reason } = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as { path?: unknown; reason?: unknown };
  return typeof path === 'string' && typeof reason === 'string' ? { path, reason } : undefined;
}

/** The failures files of an output folder, in name order; a line that is not a failure record is kept as its own failure. */
export async function readFailuresFiles(out: string): Promise<FailuresFile[]> {
  const files: FailuresFile[] = [];
  const store = storeFor(out);
  const names = await store.list(out, true);
  if (names === undefined) throw Object.assign(new Error(`${out}: no such folder`), { code: 'ENOENT', path: out });
  for (const name of [...names].sort()) {
    const m = FAILURES_FILE.exec(name);
    if (!m) continue;
    // Rewritten by its shard at the end of a run: a file gone between listing and reading had nothing to say.
    const text = (await store.read(joinLocation(out, name)).catch(() => undefined))?.toString('utf8') ?? '';
    const failures = text.split('\n').filter((l) => l.trim()).map((line) => failureOf(line) ?? { path: name, reason: `unreadable line: ${JSON.stringify(line.slice(0, 80))}` });
    files.push({ name, shard: m[1] === undefined ? null : { index: Number(m[1]), count: Number(m[2]) }, failures });
  }
  return files;
}
