import { readdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { TEMP_SUFFIX } from './atomic-write.js';
import { removeFolder } from './remove-folder.js';

const TEMP_NAME = new RegExp(`^(.*)\\.(\\d+)\\.[0-9a-f]{8}${TEMP_SUFFIX.replace('.', '\\.')}$`);

/** Whether a process of this machine is running (one of another user counts). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes temporary files and folders that a killed process on this machine
 * left in `dir` (their names carry host and pid; a process on another machine
 * or still alive is never touched). Returns how many were removed.
 */
export async function removeStaleTemps(dir: string): Promise<number> {
  const host = hostname();
  const entries = await readdir(dir).catch(() => [] as string[]);
  let removed = 0;
  for (const name of entries) {
    // `<name>.<host>.<pid>.<8 hex>.tmp`, as tempNameFor makes them: nothing else is touched.
    const m = TEMP_NAME.exec(name);
    if (!m) continue;
    const pid = Number(m[2]);
    const ours = m[1] === host || m[1].endsWith(`.${host}`);
    if (!ours) continue;
    if (pid === process.pid || isAlive(pid)) continue;
    await removeFolder(path.join(dir, name));
    removed++;
  }
  return removed;
}

/** Cleans each folder once per run, just before the run first writes into it. */
export class StaleTempSweeper {
  private readonly swept = new Map<string, Promise<number>>();

  before(target: string): Promise<number> {
    const dir = path.dirname(target);
    let pending = this.swept.get(dir);
    if (!pending) {
      pending = removeStaleTemps(dir);
      this.swept.set(dir, pending);
    }
    return pending;
  }
}
