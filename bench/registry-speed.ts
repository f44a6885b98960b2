/**
 * npm run bench:registry -- [options]
 *
 * The registry models' speed table (docs/performance.md): for every registry model,
 * AMG at the default settings on the same images with the benchmark network
 * of its architecture (scripts/bench-models/make_bench_models.py), one
 * network after another, each through `npm run bench` in its own process.
 * Models that share an architecture (edgesam and edgesam-3x, sam2-tiny and
 * sam2.1-tiny) share a row.
 *
 * Options:
 *   --images DIR           images (default: a folder holding only dog.jpg, 800×534)
 *   --points-per-side N    grid (default 32, the reference default)
 *   --only a,b             registry names to measure (default: all)
 *   --config NAME          the npm run bench configuration (default base: what the CLI does; with
 *                          random weights no IoU passes, so base never runs the decoder's mask
 *                          stage: folded-all gives the time when every prompt's masks are needed)
 *   --out FILE             JSON results (default bench/results/registry-<time>.json)
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PACKAGE_ROOT } from '../src/package-root.js';
import { benchOptions, helpFromHeader, machineLine } from './args.js';

const { args, opt } = benchOptions();
helpFromHeader(args, import.meta.url);

/** The benchmark network of each registry model's architecture. */
const ARCHITECTURES: Record<string, string> = {
  mobilesam: 'mobilesam-arch',
  'sam-vit-b': 'sam-vit-b-arch',
  'sam-vit-l': 'sam-vit-l-arch',
  'sam-vit-h': 'sam-vit-h-arch',
  'efficientsam-ti': 'efficientsam-ti-arch',
  edgesam: 'edgesam-arch',
  'edgesam-3x': 'edgesam-arch',
  'sam2.1-tiny': 'sam2.1-tiny-arch',
  'sam2-tiny': 'sam2.1-tiny-arch',
  'efficientvit-sam-l0': 'efficientvit-sam-l0-arch',
};

const registry = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'models/registry.json'), 'utf8'));
const summary = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'bench/models/summary.json'), 'utf8'));
const names = opt('--only', Object.keys(registry.models).join(',')).split(',');
let images = opt('--images', '');
if (!images) {
  images = mkdtempSync(path.join(tmpdir(), 'sam-amg-registry-'));
  copyFileSync(path.join(PACKAGE_ROOT, '../shared/fixtures/images/dog.jpg'), path.join(images, 'dog.jpg'));
}
const pps = opt('--points-per-side', '32');
const config = opt('--config', 'base');
const runBench = fileURLToPath(new URL('./run.js', import.meta.url));

interface Row { arch: string; names: string[]; result?: { wall: number; images: number; stages: Record<string, number>; peak_rss_mib: number } }
const rows = new Map<string, Row>();
for (const name of names) {
  const arch = ARCHITECTURES[name];
  if (!arch) throw new Error(`${name}: no benchmark architecture known for it`);
  if (!rows.has(arch)) rows.set(arch, { arch, names: [] });
  rows.get(arch)!.names.push(name);
}
for (const row of rows.values()) {
  const dir = path.join(PACKAGE_ROOT, 'bench/models', row.arch);
  if (!existsSync(path.join(dir, 'encoder.onnx'))) {
    console.error(`bench: ${dir} missing; run /usr/bin/python3 scripts/bench-models/make_bench_models.py`);
    continue;
  }
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'sam-amg-registry-out-')), 'r.json');
  const r = spawnSync(process.execPath, [runBench, '--model', dir, '--images', images, '--points-per-side', pps, '--configs', config, '--out', out],
    { encoding: 'utf8', stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`${row.arch}: bench failed`);
  row.result = JSON.parse(readFileSync(out, 'utf8')).results[0];
}

const encoderKey = (arch: string) => `${arch.replace(/-arch$/, '')}-encoder`;
const lines = [
  `${cpus().length} cores, points per side ${pps}, images ${images}, configuration ${config}`,
  '| registry model | benchmark network | encoder params | encoder GMAC | s / image | encoder s | decoder s | outside inference | peak RSS MiB |',
  '|---|---|---|---|---|---|---|---|---|',
];
for (const row of rows.values()) {
  const r = row.result;
  const enc = summary[encoderKey(row.arch)];
  if (!r) continue;
  const n = r.images;
  const inference = r.stages.encode + r.stages.decode;
  lines.push(`| ${row.names.join(', ')} | ${row.arch} | ${enc ? `${(enc.params / 1e6).toFixed(1)} M` : '?'} | ${enc ? enc.gmac_per_call.toFixed(1) : '?'} | ` +
    `${(r.wall / n).toFixed(1)} | ${(r.stages.encode / n).toFixed(1)} | ${(r.stages.decode / n).toFixed(1)} | ` +
    `${(((r.wall - inference) / inference) * 100).toFixed(1)}% | ${r.peak_rss_mib.toFixed(0)} |`);
}
console.log(machineLine());
console.log(lines.join('\n'));
const outFile = opt('--out', path.join(PACKAGE_ROOT, 'bench/results', `registry-${new Date().toISOString().replace(/[:.]/g, '-')}.json`));
mkdirSync(path.dirname(outFile), { recursive: true });
writeFileSync(outFile, JSON.stringify({ machine: machineLine(), cores: cpus().length, pointsPerSide: Number(pps), images, rows: [...rows.values()] }, null, 1));
console.log(`results: ${outFile}`);
