/**
 * npm run bench -- [options]
 *
 * Runs AMG over the SAM example photos (and, with --large, a 4000×3000
 * image) once per configuration, each in its own process, in one run, and
 * reports per-stage seconds (read, encoder, decoder, post-processing with the
 * run-length counts, COCO RLE strings and records, write),
 * images/s, masks/s, peak RSS, the share of time outside model inference, and
 * each configuration's time as a ratio to the first: absolute times drift on
 * shared machines, ratios measured side by side hold.
 *
 * Options:
 *   --model DIR             model folder (default bench/models/mobilesam-arch, from
 *                           scripts/bench-models/make_bench_models.py)
 *   --batched-decoder FILE  decoder with a dynamic prompt axis for the "batched" config
 *                           (default bench/models/decoder-batched/decoder.onnx)
 *   --images DIR            images (default ../shared/fixtures/images)
 *   --large                 add a 4000×3000 image (truck.jpg enlarged)
 *   --points-per-side N     grid (default 16)
 *   --crop-n-layers N       (default 0)
 *   --high-score-thresh X   hierarchical sampling's covering threshold (default 8.5)
 *   --keep-all              pred-iou and stability thresholds 0: every candidate is post-processed
 *   --decoder-graph MODE    folded, staged, split or whole for configurations that do not set it (default: the CLI's, folded)
 *   --configs a,b,...       from: base, jobs2, threads1, batched (64 prompts a call),
 *                           batch16, batch8, batch4, batch1 (the batched decoder, 16/8/4/1 a call), full-upscale, ort-basic,
 *                           ort-extended, ort-disabled, mem-pattern, inline, workers1, workers2
 *                           (post-processing on the main thread, or on 1 or 2 worker
 *                           threads; base does what the CLI does), whole, split, staged, folded
 *                           (--decoder-graph modes), staged-all, folded-all (their mask stage for
 *                           every prompt, as if every prompt had a mask passing the IoU filter),
 *                           grid, hierarchical (--sampling; where records differ from the first
 *                           configuration's, their recall and precision at mask IoU >= 0.9 are given),
 *                           filter-graph (--filter-graph on)
 *                           (default base,jobs2,batched)
 *   --out FILE              JSON results (default bench/results/bench-<time>.json)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { DecoderGraphMode } from '../src/model/decoder-sessions.js';
import { SamOnnxModel } from '../src/model/sam-onnx.js';
import { runIdentity } from '../src/runner/identity.js';
import { defaultPostprocessWorkers, PostprocessPool } from '../src/runner/postprocess-pool.js';
import { runPrepared } from '../src/runner/run-dataset.js';
import { resolveSettings } from '../src/settings/settings.js';
import { PACKAGE_ROOT } from '../src/package-root.js';
import { benchOptions, helpFromHeader, machineLine } from './args.js';
import { maskMatches, recordsAgreement } from './records-agreement.js';

interface Config {
  name: string;
  jobs: number;
  threads?: number;
  batched?: boolean;
  /** Prompts per call of a decoder with a dynamic prompt axis. */
  promptsPerCall?: number;
  upscale?: 'sparse' | 'full';
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  memPattern?: boolean;
  /** Post-processing worker threads (default: the CLI's, 1 with more than 2 cores; 0: on the main thread). */
  workers?: number;
  /** How the decoder graph runs (see DecoderGraphMode; the CLI's default is 'folded'). */
  decoderGraph?: DecoderGraphMode;
  /**
   * A staged decoder's mask stage for every prompt, as when every prompt has
   * a mask whose IoU passes the filter (real weights pass most prompts; the
   * random benchmark weights none, so by default the mask stage never runs).
   */
  everyMask?: boolean;
  /** Point sampling (default grid). */
  sampling?: 'grid' | 'hierarchical';
  /** --filter-graph on: the filters run as an ONNX graph, the host upscales only NMS survivors. */
  filterGraph?: boolean;
}

const CONFIGS: Record<string, Config> = {
  base: { name: 'base', jobs: 1 },
  jobs2: { name: 'jobs2', jobs: 2, threads: 1 },
  threads1: { name: 'threads1', jobs: 1, threads: 1 },
  batched: { name: 'batched', jobs: 1, batched: true, promptsPerCall: 64 },
  batch16: { name: 'batch16', jobs: 1, batched: true, promptsPerCall: 16 },
  batch8: { name: 'batch8', jobs: 1, batched: true, promptsPerCall: 8 },
  batch4: { name: 'batch4', jobs: 1, batched: true, promptsPerCall: 4 },
  batch1: { name: 'batch1', jobs: 1, batched: true, promptsPerCall: 1 },
  'full-upscale': { name: 'full-upscale', jobs: 1, upscale: 'full' },
  'ort-basic': { name: 'ort-basic', jobs: 1, optimization: 'basic' },
  'ort-extended': { name: 'ort-extended', jobs: 1, optimization: 'extended' },
  'ort-disabled': { name: 'ort-disabled', jobs: 1, optimization: 'disabled' },
  'mem-pattern': { name: 'mem-pattern', jobs: 1, memPattern: true },
  inline: { name: 'inline', jobs: 1, workers: 0 },
  workers1: { name: 'workers1', jobs: 1, workers: 1 },
  workers2: { name: 'workers2', jobs: 1, workers: 2 },
  whole: { name: 'whole', jobs: 1, decoderGraph: 'whole' },
  split: { name: 'split', jobs: 1, decoderGraph: 'split' },
  staged: { name: 'staged', jobs: 1, decoderGraph: 'staged' },
  folded: { name: 'folded', jobs: 1, decoderGraph: 'folded' },
  'staged-all': { name: 'staged-all', jobs: 1, decoderGraph: 'staged', everyMask: true },
  'folded-all': { name: 'folded-all', jobs: 1, decoderGraph: 'folded', everyMask: true },
  grid: { name: 'grid', jobs: 1, sampling: 'grid' },
  hierarchical: { name: 'hierarchical', jobs: 1, sampling: 'hierarchical' },
  'filter-graph': { name: 'filter-graph', jobs: 1, filterGraph: true },
};

interface ChildJob {
  config: Config;
  decoderGraph?: DecoderGraphMode;
  model: string;
  batchedDecoder: string;
  images: string[];
  settings: Record<string, number>;
}

interface ChildResult {
  config: string;
  /** Where its records are. */
  out: string;
  images: number;
  masks: number;
  /** Point prompts decoded. */
  prompts: number;
  wall: number;
  stages: { read: number; hash: number; encode: number; decode: number; postprocess: number; rle: number; write: number };
  peak_rss_mib: number;
}

const { args, opt } = benchOptions();

async function child(job: ChildJob): Promise<ChildResult> {
  const { config } = job;
  const files = {
    encoder: path.join(job.model, 'encoder.onnx'),
    decoder: config.batched ? job.batchedDecoder : path.join(job.model, 'decoder.onnx'),
  };
  const model = await SamOnnxModel.load(files, {
    threads: config.threads, graphOptimizationLevel: config.optimization, enableMemPattern: config.memPattern,
    promptsPerCall: config.promptsPerCall, decoderGraph: config.decoderGraph ?? job.decoderGraph, filterGraph: config.filterGraph ?? false,
  });
  if (config.everyMask) {
    const decode = model.decode.bind(model);
    model.decode = (embedding, points, count) => decode(embedding, points, count);
  }
  const settings = resolveSettings({ ...job.settings, ...(config.sampling ? { sampling: config.sampling } : {}) }, 'default', 'keys', model.amgReference);
  const out = await mkdtemp(path.join(tmpdir(), 'sam-amg-bench-'));
  const stages = { read: 0, hash: 0, encode: 0, decode: 0, postprocess: 0, rle: 0, write: 0 };
  const workers = config.workers ?? defaultPostprocessWorkers();
  const pool = workers > 0 ? new PostprocessPool(workers) : undefined;
  const t = performance.now();
  // The runner under the library's runDataset: this benchmark sets runtime options (optimisation level, memory
  // pattern, a batched decoder, full upscaling) that the front door does not offer.
  const summary = await runPrepared({
    sources: { paths: job.images }, outDir: out, model, settings, jobs: config.jobs,
    identity: await runIdentity(files, settings, 'json'), generate: { upscale: config.upscale ?? 'sparse', processor: pool },
    onEvent: (e) => {
      if (e.event === 'image_done') for (const k of Object.keys(stages) as (keyof typeof stages)[]) stages[k] += e.timings[k];
    },
  });
  const wall = (performance.now() - t) / 1000;
  await pool?.close();
  await model.release();
  return {
    config: config.name, out, images: summary.written, masks: summary.masks, prompts: summary.prompts, wall, stages, peak_rss_mib: process.resourceUsage().maxRSS / 1024,
  };
}

async function parent(): Promise<void> {
  helpFromHeader(args, import.meta.url);
  const model = path.resolve(opt('--model', path.join(PACKAGE_ROOT, 'bench/models/mobilesam-arch')));
  if (!existsSync(path.join(model, 'encoder.onnx'))) {
    console.error(`bench: ${model}/encoder.onnx not found; make the benchmark models first: /usr/bin/python3 scripts/bench-models/make_bench_models.py`);
    process.exit(2);
  }
  const imageDir = path.resolve(opt('--images', path.join(PACKAGE_ROOT, '../shared/fixtures/images')));
  const images = (await import('node:fs')).readdirSync(imageDir).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort().map((f) => path.join(imageDir, f));
  if (args.includes('--large')) {
    const big = path.join(await mkdtemp(path.join(tmpdir(), 'sam-amg-bench-img-')), 'large-4000x3000.jpg');
    const truck = path.join(PACKAGE_ROOT, '../shared/fixtures/images/truck.jpg');
    await sharp(existsSync(truck) ? truck : images[0]).resize(4000, 3000, { fit: 'fill' }).jpeg({ quality: 92 }).toFile(big);
    images.push(big);
  }
  const settings: Record<string, number> = {
    pointsPerSide: Number(opt('--points-per-side', '16')),
    cropNLayers: Number(opt('--crop-n-layers', '0')),
    ...(args.includes('--high-score-thresh') ? { highScoreThresh: Number(opt('--high-score-thresh', '8.5')) } : {}),
    ...(args.includes('--keep-all') ? { predIouThresh: 0, stabilityScoreThresh: 0 } : {}),
  };
  const configs = opt('--configs', 'base,jobs2,batched').split(',').map((c) => {
    if (!CONFIGS[c]) throw new Error(`unknown config ${c} (known: ${Object.keys(CONFIGS).join(', ')})`);
    return CONFIGS[c];
  });
  const batchedDecoder = path.resolve(opt('--batched-decoder', path.join(PACKAGE_ROOT, 'bench/models/decoder-batched/decoder.onnx')));
  const results: ChildResult[] = [];
  for (const config of configs) {
    const decoderGraph = opt('--decoder-graph', '') || undefined;
    const job: ChildJob = { config, decoderGraph: decoderGraph as ChildJob['decoderGraph'], model, batchedDecoder, images, settings };
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', JSON.stringify(job)], { encoding: 'utf8', maxBuffer: 1 << 26 });
    if (r.status !== 0) throw new Error(`config ${config.name} failed: ${r.stderr}`);
    results.push(JSON.parse(r.stdout.trim().split('\n').at(-1)!));
  }
  const base = results[0].wall;
  const agreement = results.map((r) => {
    const records = recordsAgreement(results[0].out, r.out);
    if (records.identical === records.files) return records;
    const matches = maskMatches(results[0].out, r.out);
    return { ...records, matches, summary: `${records.summary}; ${matches.summary}` };
  });
  const lines = [
    `model ${path.relative(PACKAGE_ROOT, model)}, ${images.length} images, settings ${JSON.stringify(settings)}, ${cpus().length} cores`,
    '| config | wall s | × base | read | hash | encoder | decoder | post-process | RLE | write | outside inference | images/s | masks/s | prompts | peak RSS MiB | records vs first |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...results.map((r, i) => {
      const s = r.stages;
      const inference = s.encode + s.decode;
      const outside = r.wall - inference;
      return `| ${r.config} | ${r.wall.toFixed(1)} | ${(r.wall / base).toFixed(2)} | ${s.read.toFixed(2)} | ${s.hash.toFixed(3)} | ${s.encode.toFixed(1)} | ${s.decode.toFixed(1)} | ${s.postprocess.toFixed(2)} | ${s.rle.toFixed(2)} | ${s.write.toFixed(2)} | ${((outside / inference) * 100).toFixed(1)}% | ${(r.images / r.wall).toFixed(3)} | ${(r.masks / r.wall).toFixed(1)} | ${r.prompts} | ${r.peak_rss_mib.toFixed(0)} | ${agreement[i].summary} |`;
    }),
  ];
  console.log(machineLine());
  console.log(lines.join('\n'));
  const outFile = opt('--out', path.join(PACKAGE_ROOT, 'bench/results', `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`));
  mkdirSync(path.dirname(outFile), { recursive: true });
  writeFileSync(outFile, JSON.stringify({ machine: machineLine(), model, images, settings, cores: cpus().length, results, agreement }, null, 1));
  for (const r of results) rmSync(r.out, { recursive: true, force: true });
  console.log(`results: ${outFile}`);
}

if (args[0] === '--child') {
  const r = await child(JSON.parse(args[1]));
  process.stdout.write(`${JSON.stringify(r)}\n`);
} else {
  await parent();
}
