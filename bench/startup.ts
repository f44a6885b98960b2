/**
 * npm run bench:startup -- --model DIR [options]
 *
 * Start-up time: from launching `sam-amg` to its first image's start (the
 * `start` event of --json, which follows model loading, the run
 * fingerprint and the output folder's claim), on one small image, each run a
 * fresh process with a fresh output folder. Two CLIs (say, two checkouts)
 * alternate run by run, so drift hits both alike.
 *
 * Options:
 *   --model DIR[,DIR] model folder (required), or one per CLI of --cli
 *   --cli A[,B]       sam-amg entry scripts to compare (default this package's bin/sam-amg.js)
 *   --runs N          runs of each (default 5); the median counts
 *   --args "..."      more sam-amg options, for the last CLI of --cli only (e.g. --decoder-graph whole)
 *   --out FILE        JSON results (default bench/results/startup-<time>.json)
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { PACKAGE_ROOT } from '../src/package-root.js';
import { benchOptions, helpFromHeader, machineLine } from './args.js';

const { args, opt } = benchOptions();
helpFromHeader(args, import.meta.url);
const model = opt('--model', '');
if (!model) {
  console.error('bench: --model DIR is required');
  process.exit(2);
}
const clis = opt('--cli', path.join(PACKAGE_ROOT, 'bin/sam-amg.js')).split(',').map((c) => path.resolve(c));
const models = model.split(',').map((m) => path.resolve(m));
const modelFor = (k: number) => models[Math.min(k, models.length - 1)];
const runs = Number(opt('--runs', '5'));
const extra = opt('--args', '').split(' ').filter(Boolean);
const images = mkdtempSync(path.join(tmpdir(), 'sam-amg-startup-'));
await sharp({ create: { width: 64, height: 48, channels: 3, background: '#808080' } }).png().toFile(path.join(images, 'one.png'));

function secondsToStart(cli: string, modelDir: string, more: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const out = mkdtempSync(path.join(tmpdir(), 'sam-amg-startup-out-'));
    const started = performance.now();
    const child = spawn(process.execPath, [cli, images, '--out', out, '--model', modelDir, '--json', '--points-per-side', '1', ...more],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let buffer = '';
    let stderr = '';
    let seconds: number | undefined;
    child.stdout.on('data', (d) => {
      buffer += d;
      if (seconds === undefined && buffer.includes('"event":"start"')) seconds = (performance.now() - started) / 1000;
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => (seconds !== undefined ? resolve(seconds) : reject(new Error(`${cli} exited ${code}: ${stderr}`))));
  });
}

// By position, not path: the same CLI may be compared with itself under other --args.
const times: number[][] = clis.map(() => []);
for (let r = 0; r < runs; r++) {
  for (const [k, cli] of clis.entries()) times[k].push(await secondsToStart(cli, modelFor(k), k === clis.length - 1 ? extra : []));
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const rows = clis.map((cli, k) => ({ cli, median_s: +median(times[k]).toFixed(3), runs: times[k].map((t) => +t.toFixed(3)) }));
console.log(machineLine());
console.log(`model ${model}: launch → first image's start, median of ${runs}${extra.length ? ` (last CLI with ${extra.join(' ')})` : ''}`);
for (const [k, r] of rows.entries()) console.log(`  ${r.cli} on ${modelFor(k)}: ${r.median_s} s (${r.runs.join(', ')})`);
const outFile = opt('--out', path.join(PACKAGE_ROOT, 'bench/results', `startup-${new Date().toISOString().replace(/[:.]/g, '-')}.json`));
mkdirSync(path.dirname(outFile), { recursive: true });
writeFileSync(outFile, JSON.stringify({ machine: machineLine(), model, rows }, null, 1));
console.log(`results: ${outFile}`);
