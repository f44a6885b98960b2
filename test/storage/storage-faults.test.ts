import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStorageFault, StorageError } from '../../src/storage/storage-fault.js';
import { runCli, spawnCli, tempDir, TINY, writeScenes } from '../helpers.js';

/**
 * Faults of the output storage, on real file systems: a tmpfs mounted by the
 * test (as root; `.ci/run` runs as root), filled or remounted read-only while
 * the real CLI writes into it.
 */

function tryMount(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  const probe = tempDir('sam-amg-mount-probe-');
  const res = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { encoding: 'utf8' });
  if (res.status !== 0) return `mount failed: ${(res.stderr || res.error?.message || '').trim()}`;
  execFileSync('umount', [probe]);
  return undefined;
}

const cannotMount = tryMount();
if (cannotMount) {
  // Said where the run shows it, then skipped: never passed without having run.
  process.stderr.write(`storage-faults.test.ts: skipped, cannot mount a tmpfs here (${cannotMount})\n`);
}

const FAST = ['--model', TINY, '--points-per-side', '6'];
const IMAGES = 12;
const mounts: string[] = [];

function mountTmpfs(options: string): string {
  const dir = tempDir('sam-amg-tmpfs-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
  mounts.push(dir);
  return dir;
}

/** Writes zeros into `file` until the file system refuses: the disk is then full to the last page. */
function fill(file: string): void {
  const fd = openSync(file, 'w');
  try {
    for (const size of [1 << 16, 4096, 1]) {
      const chunk = Buffer.alloc(size);
      try {
        for (;;) writeSync(fd, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** Every file under `dir`, relative, sorted. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (sub: string) => {
    for (const e of readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const rel = path.join(sub, e.name);
      if (e.isDirectory()) walk(rel);
      else out.push(rel);
    }
  };
  walk('');
  return out.sort();
}

function expectSameTree(actual: string, expected: string): void {
  expect(filesUnder(actual)).toEqual(filesUnder(expected));
  for (const f of filesUnder(expected)) {
    expect(readFileSync(path.join(actual, f)).equals(readFileSync(path.join(expected, f))), f).toBe(true);
  }
}

/** What a stopped run must leave: no temporary files, and only outputs identical to a clean run's. */
function expectOnlyCompleteOutputs(out: string, clean: string): number {
  const files = filesUnder(out);
  expect(files.filter((f) => f.endsWith('.tmp') || f.includes('.tmp/'))).toEqual([]);
  // The run's files are no outputs: the manifest, and the lock a run on a read-only file system could not remove.
  const outputs = files.filter((f) => f !== '.sam-amg-run.json' && !f.startsWith('.sam-amg-lock.'));
  for (const f of outputs) expect(readFileSync(path.join(out, f)).equals(readFileSync(path.join(clean, f))), f).toBe(true);
  return outputs.length;
}

function expectOneLine(stderr: string, line: RegExp): void {
  const lines = stderr.trim().split('\n');
  expect(lines.at(-1)).toMatch(line);
  // One line for the fault: no stack trace, and no image reported as failed because of it.
  expect(stderr).not.toMatch(/^\s+at /m);
  expect(stderr).not.toMatch(/scene-\d+\.png:/);
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe.skipIf(cannotMount !== undefined)('the output storage fails: the run stops cleanly, and resumes', () => {
  let images: string;
  const clean: Record<string, string> = {};

  beforeAll(async () => {
    images = tempDir();
    await writeScenes(images, IMAGES);
    for (const format of ['json', 'png']) {
      clean[format] = tempDir();
      const res = await runCli([images, '--out', clean[format], ...FAST, '--format', format]);
      expect(res.code, res.stderr).toBe(0);
    }
    // Two runs of 12 images: seconds on an idle machine, past the minute hooks get on a busy one.
  }, 180_000);

  afterAll(() => {
    for (const dir of mounts) spawnSync('umount', ['-l', dir]);
  });

  /** Runs the CLI with --json and calls `atDone(n)` after its n-th written image. */
  async function runWatching(args: string[], atDone: (n: number) => void) {
    let done = 0;
    const events: Record<string, unknown>[] = [];
    const { done: finished } = spawnCli([...args, '--json'], (line) => {
      const e = JSON.parse(line);
      events.push(e);
      if (e.event === 'image_done') atDone(++done);
    });
    const res = await finished;
    return { ...res, events, done };
  }

  it.each(['json', 'png'])('a disk that fills during the run (%s): exit 3, one line, no image after it, then a resume equal to a clean run', async (format) => {
    const mnt = mountTmpfs('size=8m');
    const out = path.join(mnt, 'masks');
    const filler = path.join(mnt, 'filler');
    const started = performance.now();
    const res = await runWatching([images, '--out', out, ...FAST, '--format', format, '--jobs', '2'], (n) => {
      if (n === 3) fill(filler);
    });
    expect(res.code, res.stderr).toBe(3);
    const written = res.events.filter((e) => e.event === 'image_done').length;
    // Both images in flight when the disk filled may have been written; no image started after the fault.
    expect(written).toBeGreaterThanOrEqual(3);
    expect(written).toBeLessThanOrEqual(5);
    expect(res.events.filter((e) => e.event === 'image_failed')).toEqual([]);
    const outputName = format === 'json' ? '\\.json' : '';
    const line = new RegExp(`^sam-amg: --out ${escape(out)}: no space left on device \\(writing ${escape(out)}/[ab]/scene-\\d+${outputName}\\); ${written} images written, rerun to resume$`);
    expectOneLine(res.stderr, line);
    expect(res.events.at(-1)).toMatchObject({ event: 'summary', written, failed: 0, storage_fault: expect.stringMatching(/no space left on device/) });
    expect(existsSync(path.join(out, 'failures.jsonl'))).toBe(false);
    const present = expectOnlyCompleteOutputs(out, clean[format]);
    // PNG outputs are folders of several files; count them by their info files.
    expect(format === 'json' ? present : filesUnder(out).filter((f) => f.endsWith('.sam-amg.json')).length).toBe(written);
    expect((performance.now() - started) / 1000).toBeLessThan(60);

    rmSync(filler);
    const resumed = await runCli([images, '--out', out, ...FAST, '--format', format]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr.trim().split('\n').at(-1)).toMatch(
      new RegExp(`^sam-amg: ${IMAGES} images: ${IMAGES - written} written, ${written} already done, 0 failed; `));
    expectSameTree(out, clean[format]);
  });

  it('a file system remounted read-only during the run: exit 3, one line; writable again, the rerun resumes', async () => {
    const mnt = mountTmpfs('size=8m');
    const out = path.join(mnt, 'masks');
    let remounted = false;
    const res = await runWatching([images, '--out', out, ...FAST], (n) => {
      if (n !== 2) return;
      // A file open for writing makes the kernel refuse (EBUSY); the next moment it is closed.
      for (let tries = 0; tries < 200 && !remounted; tries++) {
        remounted = spawnSync('mount', ['-o', 'remount,ro', mnt]).status === 0;
      }
    });
    expect(remounted).toBe(true);
    expect(res.code, res.stderr).toBe(3);
    const written = res.events.filter((e) => e.event === 'image_done').length;
    expectOneLine(res.stderr, new RegExp(`^sam-amg: --out ${escape(out)}: read-only file system \\(writing ${escape(out)}/[ab]/scene-\\d+\\.json\\); ${written} images written, rerun to resume$`));
    expect(written).toBeLessThan(IMAGES);
    expect(expectOnlyCompleteOutputs(out, clean.json)).toBe(written);

    execFileSync('mount', ['-o', 'remount,rw', mnt]);
    const resumed = await runCli([images, '--out', out, ...FAST]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expectSameTree(out, clean.json);
  });

  it('full from the first write (the run manifest): exit 3 before any image, then a resume equal to a clean run', async () => {
    const mnt = mountTmpfs('size=1m');
    const out = path.join(mnt, 'masks');
    fill(path.join(mnt, 'filler'));
    const res = await runCli([images, '--out', out, ...FAST, '--json']);
    expect(res.code, res.stderr).toBe(3);
    expectOneLine(res.stderr, new RegExp(`^sam-amg: --out ${escape(out)}: no space left on device \\(writing ${escape(out)}/\\.sam-amg-run\\.json\\); 0 images written, rerun to resume$`));
    expect(res.stdout).not.toMatch(/"event":"image_/);
    expect(filesUnder(out)).toEqual([]);

    rmSync(path.join(mnt, 'filler'));
    expect((await runCli([images, '--out', out, ...FAST])).code).toBe(0);
    expectSameTree(out, clean.json);
  });

  it('no file can be made at all (no inodes left): the check of --out stops the run, exit 3', async () => {
    const mnt = mountTmpfs('size=1m,nr_inodes=8');
    for (let i = 0; ; i++) {
      try {
        writeFileSync(path.join(mnt, `f${i}`), '');
      } catch (err) {
        expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
        break;
      }
    }
    const res = await runCli([images, '--out', mnt, '--model', '/nonexistent-model'], { timeoutMs: 20_000 });
    expect(res.stderr).toBe(`sam-amg: --out ${mnt}: no space left on device (writing ${mnt})\n`);
    expect(res.code).toBe(3);
  });

  it('the failures file cannot be written: exit 3, one line; the rerun writes it', async () => {
    const input = tempDir();
    cpSync(images, input, { recursive: true });
    const mnt = mountTmpfs('size=8m');
    const out = path.join(mnt, 'masks');
    expect((await runCli([input, '--out', out, ...FAST])).code).toBe(0);
    writeFileSync(path.join(input, 'broken.png'), 'not a picture');
    fill(path.join(mnt, 'filler'));
    const res = await runCli([input, '--out', out, ...FAST]);
    expect(res.code, res.stderr).toBe(3);
    // The run's start line (a resumed folder's, once the model has loaded) comes first.
    const lines = res.stderr.trim().split('\n').filter((l) => !/; model .*, resuming in /.test(l));
    // The broken image did fail, and says so; the fault is the one line after it.
    expect(lines[0]).toMatch(new RegExp(`^sam-amg: ${escape(path.join(input, 'broken.png'))}: `));
    expect(lines.at(-1)).toBe(`sam-amg: --out ${out}: no space left on device (writing ${out}/failures.jsonl); 0 images written, rerun to resume`);
    expect(lines).toHaveLength(2);
    expect(filesUnder(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    rmSync(path.join(mnt, 'filler'));
    const rerun = await runCli([input, '--out', out, ...FAST]);
    expect(rerun.code, rerun.stderr).toBe(1);
    const fresh = tempDir();
    expect((await runCli([input, '--out', fresh, ...FAST])).code).toBe(1);
    expectSameTree(out, fresh);
  });

  describe('other commands writing to a full disk: one line, exit 3, nothing partial', () => {
    let full: string;
    beforeAll(() => {
      full = mountTmpfs('size=1m');
      fill(path.join(full, 'filler'));
    });

    it('merge --coco', async () => {
      const coco = path.join(full, 'all.json');
      const res = await runCli(['merge', clean.json, '--coco', coco]);
      expect(res.stderr).toBe(`sam-amg: --coco ${coco}: no space left on device (writing ${coco})\n`);
      expect(res.code).toBe(3);
      expect(readdirSync(full).sort()).toEqual(['filler']);
    });

    it('export --format labelstudio', async () => {
      const to = path.join(full, 'ls');
      const res = await runCli(['export', clean.json, '--format', 'labelstudio', '--to', to]);
      expect(res.stderr).toBe(`sam-amg: --to ${to}: no space left on device (writing ${to})\n`);
      expect(res.code).toBe(3);
      expect(readdirSync(full).sort()).toEqual(['filler']);
    });

    it('report --to', async () => {
      const to = path.join(full, 'report');
      const res = await runCli(['report', clean.json, '--images', images, '--to', to]);
      expect(res.stderr).toBe(`sam-amg: --to ${to}: no space left on device (writing ${to})\n`);
      expect(res.code).toBe(3);
      expect(readdirSync(full).sort()).toEqual(['filler']);
    });

    it('inspect --viz', async () => {
      const viz = path.join(full, 'viz');
      const res = await runCli(['inspect', clean.json, '--images', images, '--viz', viz]);
      expectOneLine(res.stderr, new RegExp(`^sam-amg: --viz ${escape(viz)}: no space left on device \\(writing ${escape(viz)}/[ab]/scene-\\d+\\.png\\)$`));
      expect(res.stderr.trim().split('\n')).toHaveLength(1);
      expect(res.code).toBe(3);
      // The overlays written before the disk filled are whole PNGs; nothing else is left.
      const left = filesUnder(viz);
      expect(left.filter((f) => !f.endsWith('.png'))).toEqual([]);
      expect(left.length).toBeLessThan(IMAGES);
    });
  });
});

describe('input faults stay the image\'s own', () => {
  it('an input that fails with EIO is reported as an I/O error of its storage, and the run goes on', async () => {
    // Reading /proc/self/mem from offset 0 is a real EIO from the kernel: the address is not mapped.
    const input = tempDir();
    await writeScenes(input, 1);
    const out = tempDir();
    const res = await runCli(['/proc/self/mem', path.join(input, 'a/scene-000.png'), '--out', out, ...FAST]);
    expect(res.code, res.stderr).toBe(1);
    expect(res.stderr).toContain('sam-amg: /proc/self/mem: input/output error reading it (the storage it is on failed)\n');
    expect(existsSync(path.join(out, 'scene-000.json'))).toBe(true);
    expect(JSON.parse(readFileSync(path.join(out, 'failures.jsonl'), 'utf8'))).toEqual({
      path: '/proc/self/mem', reason: 'input/output error reading it (the storage it is on failed)',
    });
  });
});

describe('which write errors stop a run', () => {
  const errno = (code: string) => Object.assign(new Error(`${code}: something, write`), { code });

  it('faults of the storage do, with a short cause; faults of the name written do not', () => {
    for (const [code, cause] of [['ENOSPC', 'no space left on device'], ['EDQUOT', 'disk quota exceeded'],
      ['EROFS', 'read-only file system'], ['EIO', 'input/output error'], ['ESTALE', 'stale file handle (the network file system lost it)']]) {
      expect(isStorageFault(errno(code)), code).toBe(true);
      expect(new StorageError('--out m', 'm/a.json', errno(code)).message).toBe(`--out m: ${cause} (writing m/a.json)`);
    }
    for (const code of ['ENAMETOOLONG', 'EISDIR', 'ENOTDIR', 'EEXIST', 'EINVAL']) expect(isStorageFault(errno(code)), code).toBe(false);
    // An error without a system code (a bug, an encoder's complaint) is not the storage's.
    expect(isStorageFault(new Error('no space left on device'))).toBe(false);
    expect(new StorageError('--out m', 'm/a.json', errno('EXDEV')).withDetail('2 images written').message)
      .toBe('--out m: EXDEV: something, write (writing m/a.json); 2 images written');
  });
});
