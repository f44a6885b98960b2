/**
 * npm run bench:peak -- [options]
 *
 * How close the SAM decoder comes to this machine's matrix-multiply
 * throughput, both measured with onnxruntime in one process: single MatMul
 * graphs (activations × a constant weight, like a Linear layer) give the
 * peak GMAC/s; the benchmark decoder, called prompt by prompt as AMG calls
 * it, gives its GMAC/s from the count make_bench_models.py wrote to
 * summary.json. Rounds alternate between the two so drift hits both.
 *
 * Options:
 *   --model DIR     model folder with the SAM-architecture decoder (default bench/models/mobilesam-arch)
 *   --prompts N     decoder calls per round (default 64)
 *   --rounds N      alternating rounds; the best round of each counts (default 3)
 *   --threads N     onnxruntime intra-op threads (default: all cores)
 *   --out FILE      JSON results (default bench/results/peak-<time>.json)
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { matmulGraph, timeMatmul } from './matmul.js';
import { SamOnnxModel } from '../src/model/sam-onnx.js';
import { PACKAGE_ROOT } from '../src/package-root.js';
import { benchOptions, helpFromHeader, machineLine } from './args.js';

const { args, opt } = benchOptions();
helpFromHeader(args, import.meta.url);
const modelDir = path.resolve(opt('--model', path.join(PACKAGE_ROOT, 'bench/models/mobilesam-arch')));
const prompts = Number(opt('--prompts', '64'));
const rounds = Number(opt('--rounds', '3'));
const threads = Number(opt('--threads', String(cpus().length)));

/** [rows, inner, cols]: a large square product and the decoder's own shapes (4096 image tokens, 256-d, MLP 2048). */
const SHAPES: [number, number, number][] = [[4096, 1024, 1024], [4096, 256, 256], [4096, 256, 2048]];

const summary = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'bench/models/summary.json'), 'utf8'));
const gmacPerPrompt: number = summary['sam-decoder'].gmac_per_prompt;
const options = { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' as const };
const matmuls = await Promise.all(SHAPES.map(([m, k, n]) => ort.InferenceSession.create(matmulGraph(m, k, n), options)));
const model = await SamOnnxModel.loadDir(modelDir, { threads });
const image = { width: 1024, height: 1024, data: new Uint8Array(1024 * 1024 * 3).map((_, i) => (i * 7919) % 251) };
const embedding = await model.embed(image);
const points = Float32Array.from({ length: 2 * prompts }, (_, i) => ((i * 37) % 1000) + 12);

const best = { shapes: SHAPES.map(() => 0), decoder: 0 };
await model.decode(embedding, points, 2);
for (let r = 0; r < rounds; r++) {
  for (let s = 0; s < SHAPES.length; s++) best.shapes[s] = Math.max(best.shapes[s], await timeMatmul(matmuls[s], ...SHAPES[s]));
  const start = performance.now();
  await model.decode(embedding, points, prompts);
  best.decoder = Math.max(best.decoder, (prompts * gmacPerPrompt) / ((performance.now() - start) / 1000));
}
const peak = Math.max(...best.shapes);
const result = {
  machine: machineLine(),
  cores: cpus().length,
  threads,
  model: modelDir,
  matmul_gmac_per_s: Object.fromEntries(SHAPES.map((s, i) => [s.join('x'), +best.shapes[i].toFixed(1)])),
  peak_gmac_per_s: +peak.toFixed(1),
  decoder_gmac_per_prompt: gmacPerPrompt,
  decoder_ms_per_prompt: +((gmacPerPrompt / best.decoder) * 1000).toFixed(2),
  decoder_gmac_per_s: +best.decoder.toFixed(1),
  decoder_fraction_of_peak: +(best.decoder / peak).toFixed(3),
};
console.log(JSON.stringify(result, null, 1));
const out = opt('--out', path.join(PACKAGE_ROOT, 'bench/results', `peak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`));
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(result, null, 1));
await model.release();
