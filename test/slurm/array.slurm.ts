/**
 * The README's SLURM recipe, for real: a one-node cluster runs
 * scripts/slurm/sam-amg-array.sbatch as a 4-task array over one dataset,
 * one task is cancelled while it runs and submitted again, and the shared
 * output folder must equal a single-process run byte for byte.
 * `npm run test:slurm` (root, with slurm-wlm and munge installed).
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ROOT, runCli, tempDir, testEnv, TINY, writeScenes } from '../helpers.js';
import { cannotRun, Cluster } from './cluster.js';

const IMAGES = 40;
const SHARDS = 4;
const CANCELLED = 2;
const OPTIONS = '--points-per-side 24';
const SCRIPT = path.join(ROOT, 'scripts/slurm/sam-amg-array.sbatch');

let cluster: Cluster | undefined;
let work: string;

beforeAll(async () => {
  const why = await cannotRun();
  if (why) throw new Error(`npm run test:slurm cannot run here: ${why}`);
  work = tempDir('sam-amg-slurm-');
  chmodSync(work, 0o755);
  // sam-amg on PATH, as an installed package puts it; the tasks inherit this environment (--export=ALL).
  const bin = path.join(work, 'bin');
  await mkdir(bin);
  await symlink(path.join(ROOT, 'bin/sam-amg.js'), path.join(bin, 'sam-amg'));
  const env = testEnv({ PATH: `${bin}:${path.dirname(process.execPath)}:${process.env.PATH}` });
  cluster = await Cluster.start(path.join(work, 'cluster'), env, 2);
}, 120_000);

afterAll(async () => {
  const alive = await cluster?.stop();
  expect(alive ?? []).toEqual([]);
}, 120_000);

/** Every file under `dir` (relative path → SHA-256). */
function tree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (sub: string) => {
    for (const name of readdirSync(path.join(dir, sub))) {
      const rel = path.join(sub, name);
      if (statSync(path.join(dir, rel)).isDirectory()) walk(rel);
      else out.set(rel, createHash('sha256').update(readFileSync(path.join(dir, rel))).digest('hex'));
    }
  };
  walk('');
  return out;
}

/** The --json events in the task output files under `dir`. */
function events(dir: string): Record<string, unknown>[] {
  return readdirSync(dir).filter((f) => f.endsWith('.out')).flatMap((f) => readFileSync(path.join(dir, f), 'utf8').split('\n'))
    .filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
}

it('runs a 4-task array into one folder, survives a cancelled task resubmitted alone, and equals one process', async () => {
  const c = cluster!;
  const images = path.join(work, 'images');
  await writeScenes(images, IMAGES, [160, 120]);

  let started = performance.now();
  const single = path.join(work, 'single');
  // runCli's default 2 minutes is too short for 40 images on a busy 2-core machine (it took 140 s beside another test run).
  const res = await runCli([images, '--out', single, '--model', TINY, ...OPTIONS.split(' '), '--threads', '2'], { timeoutMs: 600_000 });
  expect(res.code, res.stderr).toBe(0);
  const singleSeconds = (performance.now() - started) / 1000;

  const masks = path.join(work, 'masks');
  const logs = path.join(work, 'logs');
  await mkdir(logs);
  const exports = `ALL,IMAGES=${images},MASKS=${masks},MODEL=${TINY},SAM_AMG_ARGS=${OPTIONS}`;
  started = performance.now();
  const job = (await c.slurm('sbatch', ['--parsable', `--array=0-${SHARDS - 1}`, '--cpus-per-task=1',
    `--output=${logs}/%A_%a.out`, `--export=${exports}`, SCRIPT])).trim();

  // Cancel one task once it has written an image, while it still has more to do.
  const log = path.join(logs, `${job}_${CANCELLED}.out`);
  await c.waitFor(async () => existsSync(log) && readFileSync(log, 'utf8').includes('"event":"image_done"'), `task ${CANCELLED} to write an image`, 300);
  expect((await c.tasks(job)).get(CANCELLED), `task ${CANCELLED} finished before it could be cancelled`).toBe('RUNNING');
  await c.slurm('scancel', [`${job}_${CANCELLED}`]);
  await c.waitFor(async () => (await c.tasks(job)).size === 0, 'the array to end', 600);
  const cancelledEvents = readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  const cancelledSummary = cancelledEvents.find((e) => e.event === 'summary');
  expect(cancelledSummary?.interrupted ?? true).toBe(true);

  const again = (await c.slurm('sbatch', ['--parsable', `--array=${CANCELLED}`, '--cpus-per-task=1',
    `--output=${logs}/%A_%a.out`, `--export=${exports},SHARDS=${SHARDS}`, SCRIPT])).trim();
  await c.waitFor(async () => (await c.tasks(again)).size === 0, 'the resubmitted task to end', 600);
  const arraySeconds = (performance.now() - started) / 1000;

  // Every image written exactly once across all tasks, the resubmitted one skipping what the cancelled one wrote.
  const all = events(logs);
  const written = all.filter((e) => e.event === 'image_done').map((e) => e.path as string);
  expect(written.length).toBe(IMAGES);
  expect(new Set(written).size).toBe(IMAGES);
  expect(all.filter((e) => e.event === 'image_failed')).toEqual([]);
  const resumed = events(logs).filter((e) => e.event === 'image_skipped');
  expect(resumed.length).toBeGreaterThan(0);
  expect(readFileSync(path.join(logs, `${again}_${CANCELLED}.out`), 'utf8')).toContain('"event":"image_skipped"');

  const [fromArray, fromOne] = [tree(masks), tree(single)];
  expect(fromArray.size).toBe(IMAGES + 1);
  expect(fromArray).toEqual(fromOne);
  const mergedArray = path.join(work, 'array.coco.json');
  const mergedSingle = path.join(work, 'single.coco.json');
  for (const [dir, file] of [[masks, mergedArray], [single, mergedSingle]]) {
    const merged = await runCli(['merge', dir, '--coco', file], { timeoutMs: 600_000 });
    expect(merged.code, merged.stderr).toBe(0);
  }
  // The same file but for the moment it was made.
  const undated = (file: string) => readFileSync(file, 'utf8').replace(/"date_created":"[^"]*"/, '');
  expect(undated(mergedArray) === undated(mergedSingle), 'merged COCO files differ').toBe(true);
  console.log(`slurm: ${IMAGES} images, ${SHARDS}-task array with one task cancelled and resubmitted ${arraySeconds.toFixed(1)} s, ` +
    `one process ${singleSeconds.toFixed(1)} s: ${(arraySeconds / singleSeconds).toFixed(2)}× on 2 cores`);
}, 900_000);
