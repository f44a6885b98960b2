import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, chmodSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli, tempDir, TINY, writeScenes } from '../helpers.js';

const FAST = ['--model', TINY, '--points-per-side', '6'];
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const summaryLine = (stderr: string) => stderr.trim().split('\n').at(-1);

describe('resume compares the image bytes', () => {
  let a: string;
  let b: string;
  beforeAll(async () => {
    a = tempDir();
    await writeScenes(a, 1);
    // The same name and size, another picture: the scene mirrored.
    b = tempDir();
    mkdirSync(path.join(b, 'a'));
    await sharp(path.join(a, 'a/scene-000.png')).flop().png().toFile(path.join(b, 'a/scene-000.png'));
  });

  it.each(['json', 'png'])('replaces the masks of an image whose bytes changed (%s), and counts it as changed', async (format) => {
    const out = tempDir();
    const first = await runCli([a, '--out', out, ...FAST, '--format', format]);
    expect(first.code, first.stderr).toBe(0);
    const infoFile = format === 'json' ? path.join(out, 'a/scene-000.json') : path.join(out, 'a/scene-000/.sam-amg.json');
    const firstFile = JSON.parse(readFileSync(infoFile, 'utf8'));
    expect(firstFile.info.image_sha256).toBe(sha(path.join(a, 'a/scene-000.png')));

    const second = await runCli([b, '--out', out, ...FAST, '--format', format, '--json']);
    expect(second.code, second.stderr).toBe(0);
    const events = second.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(events.find((e) => e.event === 'image_done')).toMatchObject({ changed: true });
    expect(events.at(-1)).toMatchObject({ event: 'summary', images: 1, written: 0, changed: 1, skipped: 0, failed: 0 });
    const secondFile = JSON.parse(readFileSync(infoFile, 'utf8'));
    expect(secondFile.info.image_sha256).toBe(sha(path.join(b, 'a/scene-000.png')));
    expect(secondFile.annotations).not.toEqual(firstFile.annotations);

    // The replaced output is exactly what a fresh run over the new image writes.
    const fresh = tempDir();
    expect((await runCli([b, '--out', fresh, ...FAST, '--format', format])).code).toBe(0);
    expect(readFileSync(infoFile, 'utf8')).toBe(readFileSync(infoFile.replace(out, fresh), 'utf8'));

    // Unchanged bytes: already done.
    const third = await runCli([b, '--out', out, ...FAST, '--format', format]);
    expect(summaryLine(third.stderr)).toMatch(/^sam-amg: 1 image: 0 written, 1 already done, 0 failed; /);
  });

  it('notices an image edited in place between runs', async () => {
    const input = tempDir();
    await writeScenes(input, 2);
    const out = tempDir();
    expect((await runCli([input, '--out', out, ...FAST])).code).toBe(0);
    await sharp(path.join(a, 'a/scene-000.png')).flip().png().toFile(path.join(input, 'a/edited.png'));
    writeFileSync(path.join(input, 'a/scene-001.png'), readFileSync(path.join(input, 'a/edited.png')));
    execFileSync('rm', [path.join(input, 'a/edited.png')]);
    const rerun = await runCli([input, '--out', out, ...FAST]);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(summaryLine(rerun.stderr)).toMatch(/^sam-amg: 2 images: 0 written, 1 changed, 1 already done, 0 failed; /);
  });
});

describe('input discovery skips folders holding outputs', () => {
  it('never takes a run\'s own mask PNGs for images when --out is inside the input folder', async () => {
    const imgs = tempDir();
    await writeScenes(imgs, 2);
    const out = path.join(imgs, 'masks');
    const first = await runCli([imgs, '--out', out, ...FAST, '--format', 'png']);
    expect(first.code, first.stderr).toBe(0);
    expect(summaryLine(first.stderr)).toMatch(/^sam-amg: 2 images: 2 written, 0 already done, 0 failed; /);
    const second = await runCli([imgs, '--out', out, ...FAST, '--format', 'png']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain(`sam-amg: not searched for images: 1 folder holding sam-amg outputs (${out})\n`);
    expect(summaryLine(second.stderr)).toMatch(/^sam-amg: 2 images: 0 written, 2 already done, 0 failed; /);
    expect(existsSync(path.join(out, 'masks'))).toBe(false);
  });

  it('skips another run\'s output folder (it has a run manifest), through folders and patterns alike', async () => {
    const imgs = tempDir();
    await writeScenes(imgs, 2);
    expect((await runCli([imgs, '--out', path.join(imgs, 'old'), ...FAST, '--format', 'png'])).code).toBe(0);
    for (const input of [imgs, `${imgs}/**/*.png`]) {
      const res = await runCli([input, '--out', tempDir(), ...FAST, '--json']);
      expect(res.code, res.stderr).toBe(0);
      // The first event, loading, comes before the model loads; start follows once it has.
      const start = JSON.parse(res.stdout.split('\n')[1]);
      expect(start).toMatchObject({ event: 'start', images: 2, skipped_output_folders: [path.join(imgs, 'old')] });
    }
  });
});

describe('--out is checked before anything is loaded', () => {
  // A model folder that does not exist: had the model been looked at first, the error would name it instead.
  const args = (out: string) => [path.join(ROOT, 'fixtures/photos/shelf.jpg'), '--out', out, '--model', '/nonexistent-model'];
  const expectUsage = async (out: string, cause: string, as: { uid?: number; gid?: number } = {}) => {
    const started = performance.now();
    const res = await runCli(args(out), { ...as, timeoutMs: 20_000 });
    const seconds = (performance.now() - started) / 1000;
    expect(res.stderr).toBe(`sam-amg: --out ${out}: ${cause}\n`);
    expect(res.code).toBe(2);
    // A second on an idle machine; the bound leaves room for a loaded CI runner but not for a hang.
    expect(seconds).toBeLessThan(10);
  };

  it.each([
    ['an existing file', () => {
      const file = path.join(tempDir(), 'masks');
      writeFileSync(file, 'x');
      return file;
    }, 'is a file, not a folder'],
    ['a path under a file', () => {
      const file = path.join(tempDir(), 'file');
      writeFileSync(file, 'x');
      return path.join(file, 'masks');
    }, 'a part of the path is a file, not a folder'],
    ['a folder of /proc', () => '/proc/nope', 'the file system there does not allow new folders'],
    ['a name too long', () => path.join(tempDir(), 'm'.repeat(300)), 'name too long'],
  ])('%s', async (_, makeOut, cause) => {
    await expectUsage(makeOut(), cause);
  });

  it('a read-only folder, and a path under a folder without permission (as a user without root\'s rights)', async () => {
    // Root writes anywhere: run the CLI as nobody, when nobody can read the project.
    const as = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    if (as.uid !== undefined) {
      try {
        execFileSync(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(path.join(ROOT, 'dist/src/cli/main.js'))})`], as);
      } catch {
        console.warn('skipped: running as root, and user nobody cannot read the project folder');
        return;
      }
    }
    const base = tempDir();
    chmodSync(base, 0o755);
    const readOnly = path.join(base, 'read-only');
    mkdirSync(readOnly, { mode: 0o555 });
    chmodSync(readOnly, 0o555);
    const locked = path.join(base, 'locked');
    mkdirSync(locked, { mode: 0o700 });
    if (as.uid === undefined) accessSync(base, constants.W_OK);
    await expectUsage(readOnly, 'not writable (permission denied)', as);
    await expectUsage(path.join(readOnly, 'masks'), 'permission denied', as);
    await expectUsage(path.join(locked, 'masks'), 'permission denied', as);
    expect(readdirSync(readOnly)).toEqual([]);
  });
});

describe('inputs that are not regular files', () => {
  it('fails /dev/zero and a FIFO named directly, with the cause, and goes on with the rest', async () => {
    const dir = tempDir();
    await writeScenes(dir, 1);
    const fifo = path.join(dir, 'pipe.png');
    execFileSync('mkfifo', [fifo]);
    const image = path.join(dir, 'a/scene-000.png');
    const out = tempDir();
    const res = await runCli(['/dev/zero', fifo, image, '--out', out, ...FAST], { timeoutMs: 60_000 });
    expect(res.code, res.stderr).toBe(1);
    expect(res.stderr).toContain('sam-amg: /dev/zero: not a regular file\n');
    expect(res.stderr).toContain(`sam-amg: ${fifo}: not a regular file\n`);
    expect(summaryLine(res.stderr)).toMatch(/^sam-amg: 3 images: 1 written, 0 already done, 2 failed; /);
    expect(existsSync(path.join(out, 'scene-000.json'))).toBe(true);
    const failures = readFileSync(path.join(out, 'failures.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(failures).toEqual([{ path: '/dev/zero', reason: 'not a regular file' }, { path: fifo, reason: 'not a regular file' }]);
  });
});
