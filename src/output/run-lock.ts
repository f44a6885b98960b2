import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { optionName, UsageError, type OptionNames } from '../errors.js';
import { joinLocation } from '../storage/location.js';
import { isAlive } from '../storage/stale-temps.js';
import { isStorageFault } from '../storage/storage-fault.js';
import { storeFor } from '../storage/store.js';

/**
 * One writer per output folder: every run writing into it holds a lock
 * file there, `.sam-amg-lock.<host>.<pid>.<8 hex>`, naming its host, pid and
 * fingerprint, and refreshed while it runs. Runs with the same fingerprint
 * (the shards of one run, a resumed run) share the folder; a run with other
 * settings or another model is refused while any of them is alive.
 */

export const LOCK_PREFIX = '.sam-amg-lock.';
/** How often a run refreshes its lock file. */
export const LOCK_REFRESH_MS = 60_000;
/** A lock file not refreshed for this long is stale: its run is gone, or its machine is. */
export const LOCK_STALE_MS = 10 * 60_000;

interface LockRecord {
  tool: 'sam-amg';
  fingerprint: string;
  format: string;
  host: string;
  pid: number;
  started: string;
  /** When the run last refreshed it (its own clock). */
  seen: string;
}

function parseLock(text: string): LockRecord | undefined {
  try {
    const r = JSON.parse(text);
    const ok = r?.tool === 'sam-amg' && typeof r.fingerprint === 'string' && typeof r.format === 'string'
      && typeof r.host === 'string' && Number.isInteger(r.pid) && typeof r.seen === 'string';
    return ok ? r : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the run that wrote `lock` is gone: a dead pid on this machine, or no refresh for LOCK_STALE_MS. */
function isStale(lock: LockRecord, now: number): boolean {
  if (lock.host === hostname() && !isAlive(lock.pid)) return true;
  return now - Date.parse(lock.seen) > LOCK_STALE_MS;
}

export interface OutputLock {
  /** Removes this run's lock file and stops refreshing it. */
  release(): Promise<void>;
}

/**
 * Takes this run's share of `outDir`: writes its lock file, then reads the
 * others'. A live one of another fingerprint or format refuses the run (a
 * UsageError, its own lock removed again); stale ones are removed. Two runs
 * starting at once each write before they read, so at least one sees the
 * other. `optionNames`: how a refusal names the output option (`out`, or the CLI's `--out`).
 */
export async function lockOutputFolder(outDir: string, identity: { fingerprint: string; format: string }, optionNames: OptionNames = 'keys'): Promise<OutputLock> {
  const store = storeFor(outDir);
  const started = new Date().toISOString();
  const mine = joinLocation(outDir, `${LOCK_PREFIX}${hostname()}.${process.pid}.${randomBytes(4).toString('hex')}`);
  const record = (): LockRecord => ({
    tool: 'sam-amg', fingerprint: identity.fingerprint, format: identity.format, host: hostname(), pid: process.pid, started, seen: new Date().toISOString(),
  });
  // A storage that is full or read-only refuses the lock file as it will refuse outputs: a run with nothing
  // left to write still runs, unlocked, and the others' locks are still read and obeyed.
  const held = await store.write(mine, `${JSON.stringify(record())}\n`).then(() => true, (err) => {
    if (isStorageFault(err)) return false;
    throw err;
  });
  // Refreshed in the background; a refresh that fails (a full disk) is tried again next time.
  const timer = held ? setInterval(() => void store.write(mine, `${JSON.stringify(record())}\n`).catch(() => undefined), LOCK_REFRESH_MS) : undefined;
  timer?.unref();
  const release = async () => {
    clearInterval(timer);
    if (held) await store.remove(mine).catch(() => undefined);
  };
  try {
    const names = (await store.list(outDir, true)) ?? [];
    const now = Date.now();
    for (const name of names) {
      const location = joinLocation(outDir, name);
      if (!name.startsWith(LOCK_PREFIX) || location === mine) continue;
      const lock = parseLock((await store.read(location).catch(() => undefined))?.toString('utf8') ?? '');
      // Not a lock file sam-amg wrote (or gone meanwhile): not ours to judge or remove.
      if (!lock) continue;
      if (isStale(lock, now)) {
        await store.remove(location).catch(() => undefined);
        continue;
      }
      if (lock.fingerprint !== identity.fingerprint || lock.format !== identity.format) {
        throw new UsageError(`${outDir} is being written by another run with ${lock.format !== identity.format ? `format ${lock.format}` : 'other settings or another model'} `
          + `(${lock.host} pid ${lock.pid}, since ${lock.started}); wait for it to finish, or choose another ${optionName('out', optionNames)}`);
      }
    }
  } catch (err) {
    await release();
    throw err;
  }
  return { release };
}
