/**
 * Prints the GPU machine's table from one run of scripts/gpu-bench/device-run.sh:
 *
 *   node dist/scripts/gpu-bench/table.js RESULTS_DIR
 *
 * RESULTS_DIR holds ref-<device>/times.json (reference.py time) and, per
 * workload and sam-amg configuration, <workload>.<config>.jsonl (sam-amg --json
 * events) with its outputs in out-<workload>.<config>/. Seconds per image are
 * the median over the images (the reference's first image is warmed up; for
 * sam-amg the first image, which pays for session start-up, is left out when
 * there are more). Each sam-amg row gives its ratio to the reference on the GPU
 * and on the CPU cores of the same machine, and its masks' recall and precision
 * at mask IoU ≥ 0.9 against the workload's cpu configuration.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { maskMatches } from '../../bench/records-agreement.js';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node dist/scripts/gpu-bench/table.js RESULTS_DIR');
  process.exit(2);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
const fmt = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : '–');

function referenceSeconds(device: string): number {
  const file = path.join(dir, `ref-${device}`, 'times.json');
  return existsSync(file) ? median(Object.values(JSON.parse(readFileSync(file, 'utf8')) as number[])) : NaN;
}

interface Row { seconds: number; encode: number; decode: number; postprocess: number; images: number; failed: number; note: string }

function samAmgRow(file: string): Row {
  const events = readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  const done = events.filter((e) => e.event === 'image_done');
  const timed = done.length > 1 ? done.slice(1) : done;
  const failed = events.filter((e) => e.event === 'image_failed');
  const stage = (k: string) => median(timed.map((e) => e.timings[k]));
  const note = done.length ? '' : failed[0]?.error ?? 'no image finished (see its .err file)';
  return { seconds: median(timed.map((e) => e.seconds)), encode: stage('encode'), decode: stage('decode'), postprocess: stage('postprocess'), images: done.length, failed: failed.length, note };
}

const refGpu = referenceSeconds('gpu');
const refCpu = referenceSeconds('cpu');
console.log('| workload | run | s / image | encode | decode | post-process | × reference GPU | × reference CPU | masks vs cpu config |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
console.log(`| vit_b | reference SamAutomaticMaskGenerator, PyTorch on the GPU | ${fmt(refGpu)} | | | | 1.00 | ${fmt(refGpu / refCpu)} | |`);
console.log(`| vit_b | reference, PyTorch on the CPU cores | ${fmt(refCpu)} | | | | ${fmt(refCpu / refGpu)} | 1.00 | |`);
const runs = readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort();
for (const file of runs) {
  const [workload, config] = file.replace(/\.jsonl$/, '').split('.');
  const r = samAmgRow(path.join(dir, file));
  const cpuOut = path.join(dir, `out-${workload}.cpu`);
  const out = path.join(dir, `out-${workload}.${config}`);
  const masks = config !== 'cpu' && r.images && existsSync(cpuOut) ? maskMatches(cpuOut, out).summary : '';
  const ratio = (ref: number) => (workload === 'vit_b' ? fmt(r.seconds / ref) : '');
  console.log(`| ${workload} | sam-amg ${config}${r.failed ? ` (${r.failed} failed)` : ''} | ${fmt(r.seconds)} | ${fmt(r.encode)} | ${fmt(r.decode)} | ${fmt(r.postprocess)} | ${ratio(refGpu)} | ${ratio(refCpu)} | ${r.note || masks} |`);
}
