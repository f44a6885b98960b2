import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnCli, tempDir, TINY, writeScenes } from '../helpers.js';

const FAST = ['--model', TINY, '--points-per-side', '6'];

function outputs(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const rel = path.relative(dir, path.join(e.parentPath, e.name));
    try {
      files.set(rel, readFileSync(path.join(dir, rel), 'utf8'));
    } catch (err) {
      // A temporary file renamed into place between listing and reading, while a run writes.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return files;
}

const imageOutputs = (dir: string) => new Map([...outputs(dir)].filter(([k]) => /scene-\d+\.json$/.test(k)));

describe('dataset runs', () => {
  let input: string;
  let reference: Map<string, string>;
  /** The output folder of a complete run over `input`. */
  let referenceOut: string;
  beforeAll(async () => {
    input = tempDir();
    await writeScenes(input, 20);
    const out = (referenceOut = tempDir());
    const res = await runCli([input, '--out', out, ...FAST]);
    expect(res.code, res.stderr).toBe(0);
    reference = imageOutputs(out);
    expect(reference.size).toBe(20);
  });

  it('survives kill -9 mid-run: no partial output, the rerun does only what is missing, same result', async () => {
    const out = tempDir();
    const partial: string[] = [];
    let done = 0;
    // Watch the folder while the run goes: every output file that exists must be complete.
    const watcher = setInterval(() => {
      if (!existsSync(out)) return;
      for (const [name, text] of imageOutputs(out)) {
        try {
          JSON.parse(text);
        } catch {
          partial.push(name);
        }
      }
    }, 5);
    const run = spawnCli([input, '--out', out, ...FAST, '--json'], (line, child) => {
      if (JSON.parse(line).event === 'image_done' && ++done === 6) child.kill('SIGKILL');
    });
    const killed = await run.done;
    clearInterval(watcher);
    expect(killed.signal).toBe('SIGKILL');
    expect(partial).toEqual([]);
    const before = imageOutputs(out);
    expect(before.size).toBeGreaterThanOrEqual(6);
    expect(before.size).toBeLessThan(20);
    for (const [name, text] of before) expect(text).toBe(reference.get(name));

    const events: Array<Record<string, unknown>> = [];
    const rerun = spawnCli([input, '--out', out, ...FAST, '--json'], (line) => events.push(JSON.parse(line)));
    expect((await rerun.done).code).toBe(0);
    expect(events.filter((e) => e.event === 'image_skipped').length).toBe(before.size);
    expect(events.filter((e) => e.event === 'image_done').length).toBe(20 - before.size);
    expect(imageOutputs(out)).toEqual(reference);
    // Temporary files of the killed process are gone too.
    expect([...outputs(out).keys()].filter((k) => k.endsWith('.tmp'))).toEqual([]);
  });

  it('splits the work between 3 concurrent shard processes over 30 images, each written once', async () => {
    const many = tempDir();
    await writeScenes(many, 30);
    const out = tempDir();
    const written: string[] = [];
    const runs = [0, 1, 2].map((i) => spawnCli([many, '--out', out, ...FAST, '--json', '--shard', `${i}/3`], (line) => {
      const e = JSON.parse(line);
      if (e.event === 'image_done') written.push(e.output);
    }));
    const results = await Promise.all(runs.map((r) => r.done));
    expect(results.map((r) => r.code)).toEqual([0, 0, 0]);
    expect(written.length).toBe(30);
    expect(new Set(written).size).toBe(30);
    expect(imageOutputs(out).size).toBe(30);
  });

  it('reports 2 corrupt files in failures.jsonl, exits 1 and writes the rest completely', async () => {
    const dir = tempDir();
    await writeScenes(dir, 4);
    writeFileSync(path.join(dir, 'a/broken-1.png'), Buffer.from('\x89PNG\r\n\x1a\n garbage'));
    writeFileSync(path.join(dir, 'a/broken-2.jpg'), Buffer.alloc(0));
    const out = tempDir();
    const res = await runCli([dir, '--out', out, ...FAST]);
    expect(res.code).toBe(1);
    const lines = readFileSync(path.join(out, 'failures.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => path.relative(dir, l.path))).toEqual(['a/broken-1.png', 'a/broken-2.jpg']);
    expect(lines[1].reason).toBe('empty file');
    const written = imageOutputs(out);
    expect(written.size).toBe(4);
    for (const text of written.values()) expect(JSON.parse(text).image.width).toBe(64);
    // Once the broken files are gone, a rerun skips the written images and removes the stale failures file.
    rmSync(path.join(dir, 'a/broken-1.png'));
    rmSync(path.join(dir, 'a/broken-2.jpg'));
    const res2 = await runCli([dir, '--out', out, ...FAST]);
    expect(res2.code).toBe(0);
    expect(res2.stderr).toMatch(/4 images: 0 written, 4 already done, 0 failed/);
    expect(existsSync(path.join(out, 'failures.jsonl'))).toBe(false);
  });

  it('prints parseable JSON lines with start, image_done (with timings) and summary', async () => {
    const res = await runCli([input, '--out', tempDir(), ...FAST, '--json', '--jobs', '2']);
    expect(res.code).toBe(0);
    const events = res.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(events[0]).toMatchObject({ event: 'loading', images: 20, shard: null, resuming: false });
    expect(events[1]).toMatchObject({ event: 'start', images: 20, jobs: 2, shard: null });
    expect(events.at(-1)).toMatchObject({ event: 'summary', images: 20, written: 20, changed: 0, skipped: 0, failed: 0, interrupted: false });
    const done = events.filter((e) => e.event === 'image_done');
    expect(done.length).toBe(20);
    for (const e of done) {
      expect(Object.keys(e.timings).sort()).toEqual(['decode', 'encode', 'hash', 'postprocess', 'read', 'rle', 'write']);
      expect(e.masks).toBeGreaterThan(0);
    }
  });

  it('refuses changed settings in an existing output folder unless --overwrite', async () => {
    const out = tempDir();
    cpSync(referenceOut, out, { recursive: true });
    const changed = await runCli([input, '--out', out, ...FAST, '--pred-iou-thresh', '0.9']);
    expect(changed.code).toBe(2);
    expect(changed.stderr).toBe(`sam-amg: ${out} holds masks made with other settings (pred_iou_thresh 0.88 instead of 0.9); use another --out or pass --overwrite to replace them\n`);
    // points_per_batch never changes masks, so it is not a different run.
    const batch = await runCli([input, '--out', out, ...FAST, '--points-per-batch', '5', '--json']);
    expect(batch.code).toBe(0);
    expect(batch.stdout).not.toContain('"image_done"');
    const over = await runCli([input, '--out', out, ...FAST, '--pred-iou-thresh', '0.9', '--overwrite', '--json']);
    expect(over.code).toBe(0);
    expect(over.stdout.match(/"image_done"/g)?.length).toBe(20);
    expect(JSON.parse(readFileSync(path.join(out, 'a/scene-000.json'), 'utf8')).info.settings.pred_iou_thresh).toBe(0.9);
  });

  it('stops on SIGINT after the writes under way and exits 130; the rerun completes the set', async () => {
    const out = tempDir();
    let sent = false;
    const run = spawnCli([input, '--out', out, ...FAST, '--json'], (line, child) => {
      if (!sent && JSON.parse(line).event === 'image_done') {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const res = await run.done;
    expect(res.code).toBe(130);
    expect(res.stderr).toContain('SIGINT: stopping');
    const partialSet = imageOutputs(out);
    expect(partialSet.size).toBeLessThan(20);
    for (const [name, text] of partialSet) expect(text).toBe(reference.get(name));
    expect((await runCli([input, '--out', out, ...FAST])).code).toBe(0);
    expect(imageOutputs(out)).toEqual(reference);
  });
});
