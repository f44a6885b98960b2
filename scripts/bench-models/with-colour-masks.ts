/**
 * A benchmark pair with real masks: the cost of a bench/models network and
 * the output of the tiny colour model.
 *
 *   node dist/scripts/bench-models/with-colour-masks.js [--bench bench/models/mobilesam-arch] [--out DIR]
 *
 * Random weights give logits within ±0.3 everywhere and negative IoU
 * predictions: no candidate passes the default filters, and with the filters
 * off every pixel sits between the stability thresholds. Neither is what
 * post-processing meets with real SAM weights (logits of ±10 to ±20 with
 * sharp edges, most IoU predictions above 0.88). This script merges each
 * graph of the bench pair with the matching graph of fixtures/models/tiny:
 * both run in full on the same inputs, and each output is
 * tiny + 0.001 × bench, so the arithmetic is the bench network's and the
 * masks are the tiny model's colour regions (on photos: many, irregular).
 * Writes <out>/{encoder,decoder}.onnx (default <bench>-colour).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { PACKAGE_ROOT } from '../../src/package-root.js';
import { benchOptions } from '../../bench/args.js';

const { onnx } = onnxProto;
type Graph = onnxProto.onnx.IGraphProto;
const BENCH_WEIGHT = 1e-3;

/** Prefixes every internal name of a graph (nodes, values, initializers); graph inputs keep theirs. */
function prefixGraph(graph: Graph, prefix: string): void {
  const shared = new Set((graph.input ?? []).map((i) => i.name!));
  const rename = (n: string) => (n === '' || shared.has(n) ? n : `${prefix}${n}`);
  for (const node of graph.node ?? []) {
    node.name = `${prefix}${node.name ?? ''}`;
    node.input = (node.input ?? []).map(rename);
    node.output = (node.output ?? []).map(rename);
  }
  for (const init of graph.initializer ?? []) init.name = rename(init.name!);
  for (const info of graph.valueInfo ?? []) info.name = rename(info.name!);
  for (const out of graph.output ?? []) out.name = rename(out.name!);
}

/** One graph computing both; `blend` outputs are tiny + w × bench, `tinyOnly` outputs are the tiny graph's. */
function merge(benchBytes: Uint8Array, tinyBytes: Uint8Array, blend: string[], tinyOnly: string[]): Uint8Array {
  const bench = onnx.ModelProto.decode(benchBytes);
  const tiny = onnx.ModelProto.decode(tinyBytes);
  const bg = bench.graph!;
  const tg = tiny.graph!;
  const outputs = new Map((tg.output ?? []).map((o) => [o.name!, o]));
  prefixGraph(bg, 'bench/');
  prefixGraph(tg, 'tiny/');
  const weight = { name: 'bench_weight', dims: [], dataType: onnx.TensorProto.DataType.FLOAT, floatData: [BENCH_WEIGHT] };
  const tail: onnxProto.onnx.INodeProto[] = [];
  for (const name of blend) {
    tail.push({ name: `blend/${name}/scale`, opType: 'Mul', input: [`bench/${name}`, 'bench_weight'], output: [`blend/${name}/scaled`] });
    tail.push({ name: `blend/${name}`, opType: 'Add', input: [`tiny/${name}`, `blend/${name}/scaled`], output: [name] });
  }
  for (const name of tinyOnly) tail.push({ name: `blend/${name}`, opType: 'Identity', input: [`tiny/${name}`], output: [name] });
  bg.node = [...(bg.node ?? []), ...(tg.node ?? []), ...tail];
  bg.initializer = [...(bg.initializer ?? []), ...(tg.initializer ?? []), weight];
  bg.valueInfo = [...(bg.valueInfo ?? []), ...(tg.valueInfo ?? [])];
  bg.output = [...blend, ...tinyOnly].map((n) => ({ ...outputs.get(n)!, name: n }));
  return onnx.ModelProto.encode(bench).finish();
}

const { opt } = benchOptions();
const benchDir = path.resolve(opt('--bench', path.join(PACKAGE_ROOT, 'bench/models/mobilesam-arch')));
const out = path.resolve(opt('--out', `${benchDir}-colour`));
const tinyDir = path.join(PACKAGE_ROOT, 'fixtures/models/tiny');
const read = (dir: string, f: string) => readFileSync(path.join(dir, f));
mkdirSync(out, { recursive: true });
writeFileSync(path.join(out, 'encoder.onnx'), merge(read(benchDir, 'encoder.onnx'), read(tinyDir, 'encoder.onnx'), ['image_embeddings'], []));
writeFileSync(path.join(out, 'decoder.onnx'),
  merge(read(benchDir, 'decoder.onnx'), read(tinyDir, 'decoder.onnx'), ['low_res_masks', 'iou_predictions'], ['masks']));
console.log(`wrote ${out}/{encoder,decoder}.onnx`);
