/**
 * Stumbles a new user meets (issue 29, point 5): `sam-amg` alone, inspect of
 * a path that is not there, --images where it does nothing, inspect --json's
 * keys, counts of one, the message for a shard out of range, and --images
 * over a run of several input folders.
 */
import { cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir, TINY, writeScenes } from '../helpers.js';

const FAST = ['--model', TINY, '--points-per-side', '4'];

describe('sam-amg alone, and commands on paths that are not there', () => {
  it('sam-amg with no arguments gives the usage in one line, exit 2', async () => {
    const res = await runCli([]);
    expect(res.code).toBe(2);
    expect(res.stderr).toBe('sam-amg: no inputs and no --out; usage: sam-amg <images...> --out DIR [options] (see sam-amg --help)\n');
    expect(res.stdout).toBe('');
  });

  it('inputs without --out, or --out without inputs, name what is missing', async () => {
    const noOut = await runCli([tempDir()]);
    expect(noOut.code).toBe(2);
    expect(noOut.stderr).toBe('sam-amg: no output folder: pass --out DIR\n');
    const out = path.join(tempDir(), 'masks');
    const noInputs = await runCli(['--out', out]);
    expect(noInputs.code).toBe(2);
    expect(noInputs.stderr).toMatch(/^sam-amg: no inputs: [^\n]*\n$/);
    expect(existsSync(out)).toBe(false);
  });

  it('inspect and status of a path that is not there: one line, exit 2', async () => {
    const missing = path.join(tempDir(), 'nonexistent');
    const inspect = await runCli(['inspect', missing]);
    expect(inspect.code).toBe(2);
    expect(inspect.stderr).toBe(`sam-amg: ${missing}: no such file or folder\n`);
    expect(inspect.stdout).toBe('');
    const status = await runCli(['status', missing]);
    expect(status.code).toBe(2);
    expect(status.stderr).toBe(`sam-amg: ${missing}: no such folder\n`);
  });
});

describe('on a finished run', () => {
  let root: string;
  let first: string;
  let second: string;
  let out: string;
  beforeAll(async () => {
    root = tempDir();
    first = path.join(root, 'first');
    second = path.join(root, 'second');
    await writeScenes(first, 2);
    // Another input folder, its images under names the first has not.
    await writeScenes(path.join(root, 'made'), 12);
    mkdirSync(second);
    cpSync(path.join(root, 'made', 'b'), path.join(second, 'b'), { recursive: true });
    out = path.join(root, 'masks');
    const res = await runCli([first, second, '--out', out, ...FAST]);
    expect(res.code, res.stderr).toBe(0);
  }, 180_000);

  it('--images without --viz on inspect is refused in one line; a missing --images folder too', async () => {
    const res = await runCli(['inspect', out, '--images', first]);
    expect(res.code).toBe(2);
    expect(res.stderr).toBe('sam-amg: --images goes with --viz DIR: it says where the images are to draw overlays of; inspect alone reads only the masks\n');
    expect(res.stdout).toBe('');
    const viz = path.join(root, 'viz-missing');
    const missing = await runCli(['inspect', out, '--viz', viz, '--images', path.join(root, 'nope')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`sam-amg: --images ${path.join(root, 'nope')}: no such folder\n`);
    expect(existsSync(viz)).toBe(false);
    const report = await runCli(['report', out, '--to', path.join(root, 'report-missing'), '--images', path.join(root, 'nope')]);
    expect(report.code).toBe(2);
    expect(report.stderr).toBe(`sam-amg: --images ${path.join(root, 'nope')}: no such folder\n`);
    expect(existsSync(path.join(root, 'report-missing'))).toBe(false);
  });

  it('inspect --json speaks snake_case, as every other output', async () => {
    const res = await runCli(['inspect', out, '--json']);
    expect(res.code, res.stderr).toBe(0);
    const report = JSON.parse(res.stdout);
    expect(Object.keys(report).sort()).toEqual(
      ['area', 'area_fraction', 'empty_images', 'images', 'masks', 'masks_per_image', 'predicted_iou', 'stability_score']);
    expect(Object.keys(report.masks_per_image).sort()).toEqual(['count', 'max', 'mean', 'median', 'min', 'p10', 'p90']);
    expect(report.images).toBe(4);
  });

  it('--images takes several folders: inspect --viz and report find each image in the first that has it', async () => {
    const viz = path.join(root, 'viz');
    const one = await runCli(['inspect', out, '--viz', viz, '--images', first]);
    expect(one.code).toBe(1);
    expect(one.stderr.trim().split('\n')).toHaveLength(2);
    const both = await runCli(['inspect', out, '--viz', viz, '--images', first, '--images', second]);
    expect(both.code, both.stderr).toBe(0);
    expect(both.stderr).toBe('');
    expect(readdirSync(viz, { recursive: true }).map(String).filter((f) => f.endsWith('.png')).sort())
      .toEqual(['a/scene-000.png', 'a/scene-001.png', 'b/scene-010.png', 'b/scene-011.png']);

    const report = await runCli(['report', out, '--to', path.join(root, 'report'), '--images', first, '--images', second]);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stderr).toMatch(/^sam-amg: report of 4 images and \d+ masks? in \S+ \([\d.]+ s\)\n$/);
    const partial = await runCli(['report', out, '--to', path.join(root, 'report'), '--images', second]);
    expect(partial.code, partial.stderr).toBe(0);
    expect(partial.stderr).toMatch(/; 2 pictures not found, masks drawn on grey\n$/);
  });
});

describe('counts and values in messages', () => {
  it('one image is "1 image", and a shard out of range says what a shard is', async () => {
    const images = tempDir();
    await writeScenes(images, 1);
    const out = path.join(tempDir(), 'masks');
    const res = await runCli([images, '--out', out, ...FAST]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/^sam-amg: 1 image; loading model /);
    expect(res.stderr).toMatch(/\nsam-amg: 1 image: 1 written, 0 already done, 0 failed; \d+ masks? from 16 prompts in /);
    const again = await runCli([images, '--out', out, ...FAST]);
    expect(again.stderr).toMatch(/\nsam-amg: 1 image: 0 written, 1 already done, 0 failed; 0 masks from 0 prompts in /);
    const exported = await runCli(['export', out, '--format', 'coco', '--to', path.join(tempDir(), 'coco.json')]);
    expect(exported.stderr).toMatch(/^sam-amg: exported 1 image and \d+ masks? as coco to /);
    const shard = await runCli([images, '--out', out, ...FAST, '--shard', '2/2']);
    expect(shard.code).toBe(2);
    expect(shard.stderr).toBe('sam-amg: Expected a shard i/n with 0 <= i < n for --shard but received 2/2\n');
  });
});
