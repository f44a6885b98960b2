/**
 * npm run bench:decoder -- [options]
 *
 * The mask decoder alone, as AMG calls it (one single-point prompt a call,
 * after one crop's embedding), for each benchmark pair and each decoder
 * configuration, every measurement in its own process and the rounds
 * alternating, so drift hits all alike. Prints ms per prompt, the ratio to
 * the exported graph ('whole'), and the effective rate: the exported graph's
 * multiply-accumulates per prompt (bench/models/summary.json) over the time,
 * against onnxruntime's own MatMul peak measured in the same run (above 1.0
 * means less arithmetic than the exported graph does).
 *
 * Options:
 *   --models a,b    model folders (default bench/models/mobilesam-arch,
 *                   bench/models/sam2.1-tiny-arch, bench/models/efficientsam-ti-arch)
 *   --configs a,b   from: whole (the pruned exported graph every call),
 *                   split (per-crop part once per crop), staged (split, and the
 *                   token and mask stages both run: a prompt whose masks can
 *                   pass the IoU filter), tokens-only (staged, the mask stage
 *                   skipped: a prompt whose masks cannot pass), folded and
 *                   folded-tokens-only (the same as staged and tokens-only,
 *                   with the attentions folded)
 *                   (default whole,split,staged,tokens-only,folded,folded-tokens-only)
 *   --prompts N     timed decoder calls per measurement (default 48)
 *   --rounds N      alternating rounds; the best of each counts (default 3)
 *   --out FILE      JSON results (default bench/results/decoder-<time>.json)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { SamOnnxModel } from '../src/model/sam-onnx.js';
import { PACKAGE_ROOT } from '../src/package-root.js';
import { benchOptions, helpFromHeader, machineLine } from './args.js';
import { matmulGraph, timeMatmul } from './matmul.js';

const { args, opt } = benchOptions();
const PEAK_SHAPE: [number, number, number] = [4096, 256, 2048];
/** The crop every measurement embeds (a deterministic pattern; the decoder's cost does not depend on it). */
const image = { width: 1024, height: 768, data: new Uint8Array(1024 * 768 * 3).map((_, i) => (i * 7919) % 251) };

type Config = 'whole' | 'split' | 'staged' | 'tokens-only' | 'folded' | 'folded-tokens-only';
interface Job { kind: 'decoder' | 'peak'; model?: string; config?: Config; prompts: number }

/** One measurement, in this (child) process: ms per prompt, or the MatMul GMAC/s. */
async function measure(job: Job): Promise<{ msPerPrompt?: number; peak?: number; family?: string; hoisted?: number; maxLogitDiff?: number; maxIouDiff?: number }> {
  if (job.kind === 'peak') {
    const session = await ort.InferenceSession.create(matmulGraph(...PEAK_SHAPE), { interOpNumThreads: 1 });
    return { peak: await timeMatmul(session, ...PEAK_SHAPE) };
  }
  const tokensOnly = job.config!.endsWith('tokens-only');
  const decoderGraph = job.config === 'tokens-only' ? 'staged' : job.config === 'folded-tokens-only' ? 'folded' : job.config;
  const model = await SamOnnxModel.loadDir(job.model!, { decoderGraph });
  // An IoU floor no prediction passes: the mask stage never runs.
  const options = tokensOnly ? { iouFloor: Infinity } : {};
  const embedding = await model.embed(image);
  const point = new Float32Array(2);
  for (let i = 0; i < 4; i++) await model.decode(embedding, Float32Array.from([100 + 50 * i, 300]), 1);
  const started = performance.now();
  for (let i = 0; i < job.prompts; i++) {
    point[0] = 16 + ((i * 97) % 990);
    point[1] = 16 + ((i * 61) % 740);
    await model.decode(embedding, point, 1, options);
  }
  const msPerPrompt = (performance.now() - started) / job.prompts;
  const result = { msPerPrompt, family: model.family, hoisted: model.decoderSplit?.hoisted ?? 0, ...await agreement(model, embedding, job) };
  await model.release();
  return result;
}

/** Largest differences of logits and predicted IoUs from the exported graph's, over 16 prompts (0 for 'whole' itself). */
async function agreement(model: SamOnnxModel, embedding: Awaited<ReturnType<SamOnnxModel['embed']>>, job: Job) {
  if (job.config === 'whole') return { maxLogitDiff: 0, maxIouDiff: 0 };
  const masksToo = !job.config!.endsWith('tokens-only');
  const reference = await SamOnnxModel.loadDir(job.model!, { decoderGraph: 'whole' });
  const referenceEmbedding = await reference.embed(image);
  let maxLogitDiff = 0;
  let maxIouDiff = 0;
  for (let i = 0; i < 16; i++) {
    const point = Float32Array.from([16 + ((i * 131) % 990), 16 + ((i * 71) % 740)]);
    const a = await model.decode(embedding, point, 1);
    const b = await reference.decode(referenceEmbedding, point, 1);
    for (let k = 0; masksToo && k < a.lowRes.length; k++) maxLogitDiff = Math.max(maxLogitDiff, Math.abs(a.lowRes[k] - b.lowRes[k]));
    for (let k = 0; k < a.iouPreds.length; k++) maxIouDiff = Math.max(maxIouDiff, Math.abs(a.iouPreds[k] - b.iouPreds[k]));
  }
  await reference.release();
  return { maxLogitDiff, maxIouDiff };
}

if (args[0] === '--child') {
  console.log(JSON.stringify(await measure(JSON.parse(args[1]))));
  process.exit(0);
}

helpFromHeader(args, import.meta.url);
const models = opt('--models', ['mobilesam-arch', 'sam2.1-tiny-arch', 'efficientsam-ti-arch'].map((m) => path.join(PACKAGE_ROOT, 'bench/models', m)).join(','))
  .split(',').map((m) => path.resolve(m));
for (const m of models) {
  if (!existsSync(path.join(m, 'decoder.onnx'))) {
    console.error(`bench: ${m}/decoder.onnx not found; make the benchmark models first: /usr/bin/python3 scripts/bench-models/make_bench_models.py`);
    process.exit(2);
  }
}
const configs = opt('--configs', 'whole,split,staged,tokens-only,folded,folded-tokens-only').split(',') as Config[];
const prompts = Number(opt('--prompts', '48'));
const rounds = Number(opt('--rounds', '3'));
const run = (job: Job) => {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', JSON.stringify(job)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${job.model ?? 'peak'} ${job.config ?? ''} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
};

const best = new Map<string, { msPerPrompt: number; family: string; hoisted: number; maxLogitDiff: number; maxIouDiff: number }>();
let peak = 0;
for (let r = 0; r < rounds; r++) {
  peak = Math.max(peak, run({ kind: 'peak', prompts }).peak);
  for (const model of models) {
    for (const config of configs) {
      const m = run({ kind: 'decoder', model, config, prompts });
      const key = `${model}\t${config}`;
      const old = best.get(key);
      if (!old || m.msPerPrompt < old.msPerPrompt) best.set(key, m);
    }
  }
}

const summaryFile = path.join(PACKAGE_ROOT, 'bench/models/summary.json');
const summary = existsSync(summaryFile) ? JSON.parse(readFileSync(summaryFile, 'utf8')) : {};
/** The exported decoder's multiply-accumulates per prompt, as make_bench_models.py counted them: its own entry, else the SAM decoder's. */
const gmacOf = (model: string) =>
  (summary[`${path.basename(model).replace(/-arch$/, '')}-decoder`] ?? summary['sam-decoder'])?.gmac_per_prompt as number | undefined;
const rows = [...best].map(([key, m]) => {
  const [model, config] = key.split('\t');
  const whole = best.get(`${model}\twhole`)?.msPerPrompt;
  const gmac = gmacOf(model);
  const rate = gmac ? gmac / (m.msPerPrompt / 1000) : undefined;
  return {
    model: path.relative(PACKAGE_ROOT, model), family: m.family, config, hoisted_nodes: m.hoisted,
    ms_per_prompt: +m.msPerPrompt.toFixed(2), x_whole: whole ? +(m.msPerPrompt / whole).toFixed(3) : null,
    official_gmac_per_prompt: gmac ?? null, effective_gmac_per_s: rate ? +rate.toFixed(1) : null,
    of_matmul_peak: rate ? +(rate / peak).toFixed(3) : null,
    max_logit_diff: m.maxLogitDiff, max_iou_diff: m.maxIouDiff,
  };
});
console.log(machineLine());
console.log(`MatMul ${PEAK_SHAPE.join('×')} peak: ${peak.toFixed(0)} GMAC/s; ${prompts} prompts a measurement, best of ${rounds} alternating rounds`);
console.log('| model | config | nodes per crop | ms / prompt | × whole | effective GMAC/s | ÷ MatMul peak | max Δ logit | max Δ IoU |\n|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.model} | ${r.config} | ${r.hoisted_nodes} | ${r.ms_per_prompt} | ${r.x_whole ?? '-'} | ${r.effective_gmac_per_s ?? '-'} | ${r.of_matmul_peak ?? '-'} | ${r.max_logit_diff} | ${r.max_iou_diff} |`);
}
const out = opt('--out', path.join(PACKAGE_ROOT, 'bench/results', `decoder-${new Date().toISOString().replace(/[:.]/g, '-')}.json`));
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ machine: machineLine(), cores: cpus().length, peak_gmac_per_s: peak, prompts, rounds, rows }, null, 1));
console.log(`results: ${out}`);
