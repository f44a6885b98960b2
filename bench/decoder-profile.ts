/**
 * npm run bench:profile -- [options]
 *
 * Where the mask decoder's time goes, from onnxruntime's own profiler: the
 * pruned decoder (as sam-amg runs it) is called prompt by prompt as AMG calls
 * it, and the profile's node events are summed by operator type and by node.
 * Prints the top nodes, the share of shape glue (Shape, Gather, Concat,
 * Unsqueeze, Reshape and their kin) and the per-call overhead: wall time per
 * call minus the time inside nodes.
 *
 * Options:
 *   --model DIR     model folder (default bench/models/mobilesam-arch)
 *   --prompts N     profiled decoder calls (default 64)
 *   --threads N     onnxruntime intra-op threads (default: all cores)
 *   --decoder-graph MODE  whole (the pruned exported graph, default), split (its per-prompt
 *                   part), staged or folded (their token stages; calls then skip the mask stage)
 *   --top N         nodes listed (default 15)
 *   --out FILE      JSON results (default bench/results/profile-<time>.json)
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import type { DecoderGraphMode } from '../src/model/decoder-sessions.js';
import { SamOnnxModel } from '../src/model/sam-onnx.js';
import { PACKAGE_ROOT } from '../src/package-root.js';
import { benchOptions, helpFromHeader, machineLine } from './args.js';

const { args, opt } = benchOptions();
helpFromHeader(args, import.meta.url);
const modelDir = path.resolve(opt('--model', path.join(PACKAGE_ROOT, 'bench/models/mobilesam-arch')));
const prompts = Number(opt('--prompts', '64'));
const threads = Number(opt('--threads', String(cpus().length)));
const top = Number(opt('--top', '15'));
const decoderGraph = opt('--decoder-graph', 'whole') as DecoderGraphMode;
/** Staged graphs: only the token stage is profiled, so calls skip the mask stage and the wall time is the token stage's. */
const decodeOptions = decoderGraph === 'staged' || decoderGraph === 'folded' ? { iouFloor: Infinity } : {};

/** Operators that only compute or move shapes and indices, not activations. */
const SHAPE_GLUE = new Set([
  'Shape', 'Gather', 'Concat', 'Unsqueeze', 'Squeeze', 'Reshape', 'Slice', 'Cast', 'ConstantOfShape', 'Range',
  'Expand', 'Equal', 'Where', 'Identity', 'Flatten', 'Size',
]);

interface ProfileEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string };
}

const prefix = path.join(tmpdir(), `sam-amg-profile-${process.pid}`);
const model = await SamOnnxModel.loadDir(modelDir, { threads, profileDecoderTo: prefix, decoderGraph });
const embedding = await model.embed({ width: 640, height: 480, data: new Uint8Array(640 * 480 * 3).fill(128) });
const points = new Float32Array(2);
// Warm-up calls, then the profiled ones; both land in the profile, so only the last `prompts` calls' events count.
const warm = 8;
for (let i = 0; i < warm; i++) await model.decode(embedding, Float32Array.from([100 + i, 200]), 1);
const started = performance.now();
for (let i = 0; i < prompts; i++) {
  points[0] = 32 + (i * 97) % 900;
  points[1] = 32 + (i * 61) % 600;
  await model.decode(embedding, points, 1, decodeOptions);
}
const wallMs = performance.now() - started;
model.endDecoderProfiling();
await model.release();
const file = readdirSync(tmpdir()).map((f) => path.join(tmpdir(), f)).find((f) => f.startsWith(prefix) && f.endsWith('.json'))!;

const events: ProfileEvent[] = JSON.parse(readFileSync(file, 'utf8'));
rmSync(file, { force: true });
const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run');
const profiled = runs.slice(-prompts);
const from = profiled.length ? (profiled[0] as ProfileEvent & { ts: number }).ts : 0;
const nodes = (events as (ProfileEvent & { ts: number })[]).filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time') && e.ts >= from);
const byOp = new Map<string, number>();
const byNode = new Map<string, { op: string; us: number }>();
let inside = 0;
for (const e of nodes) {
  const op = e.args?.op_name ?? '?';
  byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
  const name = e.name.replace(/_kernel_time$/, '');
  const entry = byNode.get(name) ?? { op, us: 0 };
  entry.us += e.dur;
  byNode.set(name, entry);
  inside += e.dur;
}
const perCall = (us: number) => us / 1000 / prompts;
const glue = [...byOp].filter(([op]) => SHAPE_GLUE.has(op)).reduce((a, [, us]) => a + us, 0);
const callMs = wallMs / prompts;
const result = {
  machine: machineLine(), model: modelDir, decoder_graph: decoderGraph, threads, prompts,
  ms_per_call: callMs,
  ms_in_nodes_per_call: perCall(inside),
  overhead_ms_per_call: callMs - perCall(inside),
  shape_glue_share: glue / inside,
  by_op: [...byOp].sort((a, b) => b[1] - a[1]).map(([op, us]) => ({ op, ms_per_call: perCall(us), share: us / inside })),
  top_nodes: [...byNode].sort((a, b) => b[1].us - a[1].us).slice(0, top)
    .map(([name, { op, us }]) => ({ name, op, ms_per_call: perCall(us), share: us / inside })),
};

console.log(result.machine);
console.log(`${modelDir} (${decoderGraph} graph): ${callMs.toFixed(2)} ms a call, ${result.ms_in_nodes_per_call.toFixed(2)} ms in nodes, ` +
  `${result.overhead_ms_per_call.toFixed(2)} ms outside them (per-call overhead, ${(100 * result.overhead_ms_per_call / callMs).toFixed(1)} %); ` +
  `shape glue ${(100 * result.shape_glue_share).toFixed(1)} % of node time`);
console.log('by operator type:');
for (const o of result.by_op.slice(0, top)) console.log(`  ${o.op.padEnd(22)} ${o.ms_per_call.toFixed(3).padStart(8)} ms  ${(100 * o.share).toFixed(1).padStart(5)} %`);
console.log('top nodes:');
for (const n of result.top_nodes) console.log(`  ${n.name.slice(0, 60).padEnd(60)} ${n.op.padEnd(14)} ${n.ms_per_call.toFixed(3).padStart(8)} ms  ${(100 * n.share).toFixed(1).padStart(5)} %`);
const out = opt('--out', path.join(PACKAGE_ROOT, `bench/results/profile-${Date.now()}.json`));
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 1)}\n`);
console.log(`wrote ${out}`);
