import onnxProto from 'onnx-proto';
import { neededFor } from './prune.js';
import { constantValues, floatTensor, floatValues, int64Tensor, tensorDims } from './tensor-proto.js';

type Model = onnxProto.onnx.IModelProto;
type Node = onnxProto.onnx.INodeProto;
type Tensor = onnxProto.onnx.ITensorProto;

/** x·W (+ b) with W and b held in the model. */
interface Linear {
  input: string;
  /** [inDim, outDim], row-major, as MatMul's second operand. */
  weight: Float32Array;
  inDim: number;
  outDim: number;
  bias?: Float32Array;
  output: string;
}

/**
 * One multi-head attention as PyTorch exports SAM's Attention module:
 * q, k, v projections, heads split by Reshape + Transpose, scores scaled by
 * a constant, Softmax over the keys, the weighted sum of values, heads
 * recombined, output projection. Found by structure and weights, not names.
 */
export interface AttentionMatch {
  /** The Softmax node's name (or output), for messages. */
  name: string;
  q: Linear;
  k: Linear;
  v: Linear;
  out: Linear;
  /** [B, H, Nq, d] */
  qHeads: string;
  /** [B, H, d, Nk] */
  kHeadsT: string;
  /** [B, H, Nk, d] */
  vHeads: string;
  /** Softmax output, [B, H, Nq, Nk]. */
  probs: string;
  /** probs · vHeads, [B, H, Nq, d]. */
  mixed: string;
  /** The scores are multiplied by this before the Softmax. */
  scale: number;
}

/** What a fold did to one attention. */
export interface FoldedAttention {
  name: string;
  /** 'keys-values': the few queries meet the image tokens in their own space; 'query' and/or 'output': the few keys are folded into the projections. */
  folds: ('keys-values' | 'query' | 'output')[];
  /** Multiply-accumulates per call of the parts changed, before and after. */
  macsBefore: number;
  macsAfter: number;
}

interface GraphIndex {
  producer: Map<string, Node>;
  constants: Map<string, Tensor>;
}

function indexGraph(model: Model): GraphIndex {
  const producer = new Map<string, Node>();
  for (const node of model.graph?.node ?? []) for (const o of node.output ?? []) producer.set(o, node);
  return { producer, constants: constantValues(model) };
}

const ints = (node: Node, name: string) => (node.attribute ?? []).find((a) => a.name === name)?.ints?.map(Number);
const sameList = (a: readonly number[] | undefined, b: readonly number[]) => !!a && a.length === b.length && a.every((v, i) => v === b[i]);

function linear(index: GraphIndex, value: string): Linear | undefined {
  const node = index.producer.get(value);
  if (!node) return undefined;
  let matmul = node;
  let bias: Float32Array | undefined;
  if (node.opType === 'Add') {
    const [a, b] = node.input ?? [];
    const [biasName, product] = index.constants.has(a) ? [a, b] : [b, a];
    const biasTensor = index.constants.get(biasName);
    bias = biasTensor && tensorDims(biasTensor).length === 1 ? floatValues(biasTensor) : undefined;
    const producer = index.producer.get(product);
    if (!bias || !producer) return undefined;
    matmul = producer;
  }
  if (matmul.opType !== 'MatMul') return undefined;
  const [input, weightName] = matmul.input ?? [];
  const w = index.constants.get(weightName);
  const dims = w ? tensorDims(w) : [];
  const weight = w && dims.length === 2 ? floatValues(w) : undefined;
  if (!weight || index.constants.has(input) || (bias && bias.length !== dims[1])) return undefined;
  return { input, weight, inDim: dims[0], outDim: dims[1], bias, output: value };
}

/** The value a Transpose with `perm` of a head-splitting Reshape of a projection starts from. */
function headsOf(index: GraphIndex, value: string, perm: number[]): Linear | undefined {
  const transpose = index.producer.get(value);
  if (transpose?.opType !== 'Transpose' || !sameList(ints(transpose, 'perm'), perm)) return undefined;
  const reshape = index.producer.get(transpose.input![0]);
  if (reshape?.opType !== 'Reshape') return undefined;
  return linear(index, reshape.input![0]);
}

/** Keys split into heads and then transposed in a second step (not merged into one Transpose by the exporter). */
function keysTransposedTwice(index: GraphIndex, value: string): Linear | undefined {
  const last = index.producer.get(value);
  if (last?.opType !== 'Transpose' || !sameList(ints(last, 'perm'), [0, 1, 3, 2])) return undefined;
  return headsOf(index, last.input![0], [0, 2, 1, 3]);
}

/** `value` without a scalar Mul or Div by a constant in front of it, and the factor that applied. */
function unscaled(index: GraphIndex, value: string): { value: string; factor: number } | undefined {
  const node = index.producer.get(value);
  if (node?.opType !== 'Mul' && node?.opType !== 'Div') return { value, factor: 1 };
  const [a, b] = node.input!;
  const c = scalar(index, b) ?? (node.opType === 'Mul' ? scalar(index, a) : undefined);
  if (c === undefined || c === 0) return { value, factor: 1 };
  return { value: scalar(index, b) !== undefined ? a : b, factor: node.opType === 'Div' ? 1 / c : c };
}

function scalar(index: GraphIndex, value: string): number | undefined {
  const t = index.constants.get(value);
  const data = t && floatValues(t);
  return data && data.length === 1 ? data[0] : undefined;
}

function softmaxOverLastAxis(model: Model, node: Node): boolean {
  const axis = (node.attribute ?? []).find((a) => a.name === 'axis');
  if (axis) return Number(axis.i) === -1 || Number(axis.i) === 3;
  const opset = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx')?.version;
  return Number(opset ?? 0) >= 13; // before opset 13 Softmax defaults to axis 1
}

/** Every attention of `model` that has the exported structure (see AttentionMatch). */
export function findAttentions(model: Model): AttentionMatch[] {
  const index = indexGraph(model);
  const consumers = new Map<string, Node[]>();
  for (const node of model.graph?.node ?? []) for (const i of node.input ?? []) consumers.set(i, [...(consumers.get(i) ?? []), node]);
  const found: AttentionMatch[] = [];
  for (const softmax of model.graph?.node ?? []) {
    if (softmax.opType !== 'Softmax' || !softmaxOverLastAxis(model, softmax)) continue;
    let scores = index.producer.get(softmax.input![0]);
    let scale = 1;
    if (scores && (scores.opType === 'Div' || scores.opType === 'Mul')) {
      const c = scalar(index, scores.input![1]);
      if (c === undefined || c === 0) continue;
      scale = scores.opType === 'Div' ? 1 / c : c;
      scores = index.producer.get(scores.input![0]);
    }
    if (scores?.opType !== 'MatMul') continue;
    // PyTorch 2 exports scaled_dot_product_attention with q and kᵀ each scaled before their product.
    const [qSide, kSide] = scores.input!.map((v) => unscaled(index, v));
    if (!qSide || !kSide) continue;
    scale *= qSide.factor * kSide.factor;
    const [qHeads, kHeadsT] = [qSide.value, kSide.value];
    const q = headsOf(index, qHeads, [0, 2, 1, 3]);
    const k = headsOf(index, kHeadsT, [0, 2, 3, 1]) ?? keysTransposedTwice(index, kHeadsT);
    const probs = softmax.output![0];
    const weighted = consumers.get(probs) ?? [];
    if (!q || !k || weighted.length !== 1 || weighted[0].opType !== 'MatMul' || weighted[0].input![0] !== probs) continue;
    const vHeads = weighted[0].input![1];
    const v = headsOf(index, vHeads, [0, 2, 1, 3]);
    const mixed = weighted[0].output![0];
    const recombine = consumers.get(mixed) ?? [];
    if (!v || recombine.length !== 1 || recombine[0].opType !== 'Transpose' || !sameList(ints(recombine[0], 'perm'), [0, 2, 1, 3])) continue;
    // Shape nodes may read the recombined heads too (the exporter's size arithmetic).
    const reshape = (consumers.get(recombine[0].output![0]) ?? []).find((n) => n.opType === 'Reshape');
    const projection = reshape ? (consumers.get(reshape.output![0]) ?? []).find((n) => n.opType === 'MatMul') : undefined;
    const projected = projection?.opType === 'MatMul' ? (consumers.get(projection.output![0]) ?? []) : [];
    // The output projection ends at its bias Add, or at the MatMul itself.
    const outValue = projected.length === 1 && projected[0].opType === 'Add' && linear(index, projected[0].output![0])
      ? projected[0].output![0] : projection?.output![0];
    const out = outValue ? linear(index, outValue) : undefined;
    if (!out || out.input !== reshape!.output![0]) continue;
    if (q.outDim !== k.outDim || q.outDim !== v.outDim || out.inDim !== v.outDim) continue;
    found.push({ name: softmax.name || probs, q, k, v, out, qHeads, kHeadsT, vHeads, probs, mixed, scale });
  }
  return found;
}

/** The values whose shapes (from one real call) the fold needs. */
export function valuesToProbe(matches: readonly AttentionMatch[]): string[] {
  return [...new Set(matches.flatMap((m) => [m.q.input, m.k.input, m.v.input, m.qHeads, m.kHeadsT, m.vHeads, m.out.output]))];
}

interface Sizes { batch: number; heads: number; headDim: number; nq: number; nk: number }

/** The sizes of one attention, when the probed shapes are those of the structure found; else undefined. */
function sizesOf(m: AttentionMatch, shapes: ReadonlyMap<string, readonly number[]>): Sizes | undefined {
  const [qh, kt, vh, xq, xk, xv, out] = [m.qHeads, m.kHeadsT, m.vHeads, m.q.input, m.k.input, m.v.input, m.out.output].map((v) => shapes.get(v));
  if (![qh, kt, vh, xq, xk, xv, out].every((s) => s !== undefined)) return undefined;
  if (qh!.length !== 4 || kt!.length !== 4 || vh!.length !== 4) return undefined;
  const [batch, heads, nq, headDim] = qh!;
  const nk = kt![3];
  const ok = sameList(kt!, [batch, heads, headDim, nk]) && sameList(vh!, [batch, heads, nk, headDim])
    && heads * headDim === m.q.outDim
    && sameList(xq!, [batch, nq, m.q.inDim]) && sameList(xk!, [batch, nk, m.k.inDim]) && sameList(xv!, [batch, nk, m.v.inDim])
    && sameList(out!, [batch, nq, m.out.outDim]);
  return ok ? { batch, heads, headDim, nq, nk } : undefined;
}

/** W [inDim, H·d] as [H, inDim, d] (or [H, d, inDim] when `transposed`), times `factor`. */
function perHead(l: Linear, heads: number, headDim: number, transposed: boolean, factor = 1): Float32Array {
  const out = new Float32Array(l.weight.length);
  for (let i = 0; i < l.inDim; i++) {
    for (let h = 0; h < heads; h++) {
      for (let j = 0; j < headDim; j++) {
        const at = transposed ? (h * headDim + j) * l.inDim + i : (h * l.inDim + i) * headDim + j;
        out[at] = l.weight[i * l.outDim + h * headDim + j] * factor;
      }
    }
  }
  return out;
}

const scaled = (data: Float32Array | undefined, length: number, factor: number) => {
  const out = new Float32Array(length);
  if (data) for (let i = 0; i < length; i++) out[i] = data[i] * factor;
  return out;
};

/**
 * Rewrites the attentions in `model` whose folded form does less arithmetic
 * per call, given the shapes of one call and which values are the same for
 * the whole crop (work on those is done once, so folding them would add).
 *
 * The two folds (same result in real arithmetic; float rounding differs):
 * - few queries against many keys: the keys and values are never projected.
 *   Each head's queries are mapped into the keys' input space (q_h·W_k,hᵀ),
 *   scored against the input tokens directly, and W_v,h is applied after the
 *   weighted sum (softmax rows sum to 1, so b_v passes through; q_h·b_k is
 *   the same for every key of a row, so the softmax drops it).
 * - many queries against few keys: each head's few keys are folded into the
 *   query projection (W_q,h·K_hᵀ, b_q,h·K_hᵀ), and its few values into the
 *   output projection (V_h·W_o,h), so the many tokens meet an inDim × H·Nk
 *   matrix instead of two inDim × H·d projections.
 */
export function foldAttentions(
  model: Model,
  matches: readonly AttentionMatch[],
  shapes: ReadonlyMap<string, readonly number[]>,
  fixedForCrop: (value: string) => boolean,
): FoldedAttention[] {
  const graph = model.graph!;
  const added: { after: string; nodes: Node[] }[] = [];
  const replaced = new Map<string, string>();
  const folded: FoldedAttention[] = [];
  matches.forEach((m, index) => {
    const s = sizesOf(m, shapes);
    if (!s) return;
    const { heads: H, headDim: d, nq, nk } = s;
    const C = m.q.outDim;
    const prefix = `sam_amg_fold_${index}`;
    let counter = 0;
    const nodes: Node[] = [];
    const op = (opType: string, inputs: string[], attrs: onnxProto.onnx.IAttributeProto[] = []) => {
      const output = `${prefix}/${opType}_${counter++}`;
      nodes.push({ name: output, opType, input: inputs, output: [output], attribute: attrs });
      return output;
    };
    const constant = (dims: number[], data: Float32Array) => {
      const name = `${prefix}/w_${counter++}`;
      graph.initializer!.push(floatTensor(name, dims, data));
      return name;
    };
    const shape = (values: number[]) => {
      const name = `${prefix}/shape_${counter++}`;
      graph.initializer!.push(int64Tensor(name, values));
      return name;
    };
    const perm = (p: number[]): onnxProto.onnx.IAttributeProto[] => [{ name: 'perm', type: onnxProto.onnx.AttributeProto.AttributeType.INTS, ints: p }];
    const axis = (a: number): onnxProto.onnx.IAttributeProto[] => [{ name: 'axis', type: onnxProto.onnx.AttributeProto.AttributeType.INT, i: a }];
    const perCall = (v: string) => !fixedForCrop(v);
    const scoresAndMix = 2 * H * nq * nk * d;

    // Few queries, many keys: fold when the key and value inputs are per call.
    if (perCall(m.k.input) && perCall(m.v.input)) {
      const before = 2 * nk * m.k.inDim * C + scoresAndMix;
      const after = H * nq * d * m.k.inDim + H * nq * nk * (m.k.inDim + m.v.inDim) + H * nq * m.v.inDim * d;
      if (after < 0.8 * before) {
        const qk = op('MatMul', [m.qHeads, constant([H, d, m.k.inDim], perHead(m.k, H, d, true, m.scale))]);
        const rows = op('Reshape', [qk, shape([0, -1, m.k.inDim])]);
        const keysT = op('Transpose', [m.k.input], perm([0, 2, 1]));
        const probs = op('Softmax', [op('MatMul', [rows, keysT])], axis(-1));
        const summed = op('Reshape', [op('MatMul', [probs, m.v.input]), shape([0, H, -1, m.v.inDim])]);
        const mixed = op('Add', [op('MatMul', [summed, constant([H, m.v.inDim, d], perHead(m.v, H, d, false))]), constant([H, 1, d], scaled(m.v.bias, C, 1))]);
        added.push({ after: m.mixed, nodes });
        replaced.set(m.mixed, mixed);
        folded.push({ name: m.name, folds: ['keys-values'], macsBefore: before, macsAfter: after });
        return;
      }
    }

    // Many queries, few keys: fold the keys into the query projection and the values into the output projection.
    const queryBefore = (perCall(m.q.input) ? nq * m.q.inDim * C : 0) + H * nq * nk * d;
    const queryAfter = H * m.q.inDim * d * nk + nq * m.q.inDim * H * nk;
    const outputBefore = H * nq * nk * d + nq * C * m.out.outDim;
    const outputAfter = H * nk * d * m.out.outDim + nq * H * nk * m.out.outDim;
    const foldQuery = queryAfter < 0.8 * queryBefore;
    const foldOutput = outputAfter < 0.8 * outputBefore;
    if (!foldQuery && !foldOutput) return;
    const headsLast = (v: string) => op('Reshape', [op('Transpose', [v], perm([0, 2, 1, 3])), shape([0, 0, -1])]);
    let probsRows: string; // [B, Nq, H·Nk]
    if (foldQuery) {
      const keysIntoQuery = op('MatMul', [constant([H, m.q.inDim, d], perHead(m.q, H, d, false, m.scale)), m.kHeadsT]);
      const biasScores = op('MatMul', [constant([H, 1, d], scaled(m.q.bias, C, m.scale)), m.kHeadsT]);
      const scores = op('Add', [op('MatMul', [m.q.input, headsLast(keysIntoQuery)]), headsLast(biasScores)]);
      probsRows = op('Reshape', [op('Softmax', [op('Reshape', [scores, shape([0, 0, H, -1])])], axis(-1)), shape([0, 0, -1])]);
    } else {
      probsRows = headsLast(m.probs);
    }
    if (foldOutput) {
      // W_o [H·d, out] is already [H, d, out] row by row.
      const valuesOut = op('Reshape', [op('MatMul', [m.vHeads, constant([H, d, m.out.outDim], m.out.weight)]), shape([0, -1, m.out.outDim])]);
      let result = op('MatMul', [probsRows, valuesOut]);
      if (m.out.bias) result = op('Add', [result, constant([m.out.outDim], m.out.bias)]);
      added.push({ after: m.out.output, nodes });
      replaced.set(m.out.output, result);
    } else {
      // Back to the graph's layout for its own weighted sum.
      const probs = op('Transpose', [op('Reshape', [probsRows, shape([0, 0, H, -1])])], perm([0, 2, 1, 3]));
      added.push({ after: m.probs, nodes });
      replaced.set(m.probs, probs);
    }
    folded.push({
      name: m.name,
      folds: [...(foldQuery ? ['query' as const] : []), ...(foldOutput ? ['output' as const] : [])],
      macsBefore: (foldQuery ? queryBefore : 0) + (foldOutput ? outputBefore : 0),
      macsAfter: (foldQuery ? queryAfter : 0) + (foldOutput ? outputAfter : 0),
    });
  });
  if (folded.length === 0) return folded;

  // New nodes go right after the node whose output they replace: all they read is computed by then.
  const nodes: Node[] = [];
  for (const node of graph.node ?? []) {
    nodes.push({ ...node, input: (node.input ?? []).map((i) => replaced.get(i) ?? i) });
    for (const a of added) if ((node.output ?? []).includes(a.after)) nodes.push(...a.nodes);
  }
  for (const output of graph.output ?? []) if (replaced.has(output.name!)) throw new Error('a folded attention value is a graph output');
  const { nodes: kept, values } = neededFor(nodes, (graph.output ?? []).map((o) => o.name!));
  graph.node = kept;
  graph.initializer = (graph.initializer ?? []).filter((t) => values.has(t.name!));
  graph.valueInfo = [];
  return folded;
}
