import onnxProto from 'onnx-proto';
import { neededFor } from './prune.js';
import { constantValues, floatTensor, floatValues, int64Tensor, tensorDims } from './tensor-proto.js';

type Model = onnxProto.onnx.IModelProto;
type Node = onnxProto.onnx.INodeProto;
type Tensor = onnxProto.onnx.ITensorProto;

/**
 * SAM's output upscaling and mask product, found by structure: two
 * transposed convolutions whose kernel equals their stride (each input pixel
 * owns its own output block), the per-pixel layers between and after them
 * (LayerNorm2d, GELU: element-wise operators with scalar or per-channel
 * constants, and means over the channels), and the product of the mask
 * tokens' hypernetwork outputs with the upscaled channels.
 */
export interface UpscalingMatch {
  /** The first convolution's input, [B, C, H, W]. */
  input: string;
  /** [B, H·W, C] that `input` is a reshape of, when the graph makes it so. */
  tokens?: string;
  first: TransposedConv;
  second: TransposedConv;
  /** The per-pixel nodes after each convolution, in graph order, and the value each hands on. */
  between: Region;
  after: Region;
  /** [B, T, C2] hypernetwork outputs, and the product's output [B, T, H·W·k1²·k2²]. */
  hyper: string;
  masks: string;
}

/**
 * Per-pixel nodes and the value they hand on; `shapes` are the Shape nodes
 * that read region values (their output, per kind); `features` the other
 * values added in, [1 or B, C, H, W] at the region's resolution (SAM 2's
 * high-resolution features).
 */
interface Region {
  nodes: Node[];
  exit: string;
  shapes: { node: Node; kind: 'full' | 'pixel' }[];
  features: string[];
}

interface TransposedConv {
  node: Node;
  /** [Cin, Cout, k, k] */
  weight: Float32Array;
  cin: number;
  cout: number;
  k: number;
  bias?: Float32Array;
}

const UNARY = new Set(['Sqrt', 'Erf', 'Relu', 'Sigmoid', 'Tanh', 'Neg', 'Abs', 'Exp', 'Log', 'Reciprocal', 'Gelu']);
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow']);

const attr = (node: Node, name: string) => (node.attribute ?? []).find((a) => a.name === name);
const ints = (node: Node, name: string) => attr(node, name)?.ints?.map(Number);

/** A ConvTranspose whose kernel equals its stride, without padding, dilation or groups, with its weights in the model. */
function transposedConv(node: Node, constants: Map<string, Tensor>): TransposedConv | undefined {
  if (node.opType !== 'ConvTranspose') return undefined;
  const kernel = ints(node, 'kernel_shape');
  const strides = ints(node, 'strides');
  const w = constants.get(node.input?.[1] ?? '');
  const dims = w ? tensorDims(w) : [];
  if (dims.length !== 4 || dims[2] !== dims[3]) return undefined;
  const k = dims[2];
  const plain = (name: string, value: number) => (ints(node, name) ?? []).every((v) => v === value);
  if ((kernel && kernel.some((v) => v !== k)) || !strides || strides.length !== 2 || strides.some((v) => v !== k)) return undefined;
  if (!plain('pads', 0) || !plain('dilations', 1) || !plain('output_padding', 0) || attr(node, 'output_shape')) return undefined;
  if (Number(attr(node, 'group')?.i ?? 1) !== 1 || (attr(node, 'auto_pad')?.s && new TextDecoder().decode(attr(node, 'auto_pad')!.s!) !== 'NOTSET')) return undefined;
  const weight = floatValues(w!);
  const biasTensor = node.input?.[2] ? constants.get(node.input[2]) : undefined;
  const bias = biasTensor ? floatValues(biasTensor) : undefined;
  if (!weight || (node.input?.[2] && bias?.length !== dims[1])) return undefined;
  return { node, weight, cin: dims[0], cout: dims[1], k, bias };
}

/** Whether a constant broadcasts per channel ([C,1,1] or [1,C,1,1]) or is a scalar, against [B, C, H, W]. */
function constantKind(t: Tensor | undefined, channels: number): 'scalar' | 'channel' | undefined {
  if (!t || !floatValues(t)) return undefined;
  const dims = tensorDims(t);
  if (dims.every((d) => d === 1)) return 'scalar';
  const c = dims.length === 3 ? dims : dims.length === 4 && dims[0] === 1 ? dims.slice(1) : undefined;
  return c && c[0] === channels && c[1] === 1 && c[2] === 1 ? 'channel' : undefined;
}

/**
 * The per-pixel region from `start` (a [B, channels, H, W] value): the nodes
 * that read it, and what they compute, up to the one value `exitTo` accepts
 * as the region's end. Undefined when any node in between is not per-pixel
 * or a region value leaves by another way.
 */
function pixelRegion(
  nodes: readonly Node[], from: number, start: string, channels: number, constants: Map<string, Tensor>,
  exitTo: (node: Node, value: string) => boolean,
): Region | undefined {
  const kind = new Map<string, 'full' | 'pixel'>([[start, 'full']]);
  const region: Node[] = [];
  const shapes: Region['shapes'] = [];
  const features = new Set<string>();
  // The exporter's size arithmetic reads region values' shapes: those are known, and become constants.
  const shapeOf = (node: Node) => node.opType === 'Shape' && (node.input ?? []).length === 1 && !attr(node, 'start') && !attr(node, 'end')
    && kind.has(node.input![0]);
  for (let i = from; i < nodes.length; i++) {
    const node = nodes[i];
    const inputs = node.input ?? [];
    if (!inputs.some((v) => kind.has(v))) continue;
    const op = node.opType ?? '';
    if (shapeOf(node)) {
      shapes.push({ node, kind: kind.get(inputs[0])! });
      continue;
    }
    const reads = inputs.filter((v) => kind.has(v));
    if (reads.length === 1 && kind.get(reads[0]) === 'full' && exitTo(node, reads[0])) {
      // No region value may be read after the region but for its shape.
      for (const later of nodes.slice(i + 1)) {
        if (!(later.input ?? []).some((v) => kind.has(v))) continue;
        if (!shapeOf(later)) return undefined;
        shapes.push({ node: later, kind: kind.get(later.input![0])! });
      }
      return { nodes: region, exit: reads[0], shapes, features: [...features] };
    }
    let out: 'full' | 'pixel';
    if (UNARY.has(op) && inputs.length === 1) {
      out = kind.get(inputs[0])!;
    } else if (BINARY.has(op) && inputs.length === 2) {
      // A computed value added to the full channels is a feature map (its shape is checked on rewriting).
      const feature = (v: string) => op === 'Add' && !constants.has(v) && inputs.some((u) => kind.get(u) === 'full') ? 'feature' : undefined;
      const kinds = inputs.map((v) => kind.get(v) ?? (constants.has(v) ? constantKind(constants.get(v), channels) : feature(v)));
      if (kinds.some((k) => k === undefined)) return undefined;
      inputs.forEach((v, k) => kinds[k] === 'feature' && features.add(v));
      out = kinds.some((k) => k === 'full' || k === 'channel' || k === 'feature') ? 'full' : 'pixel';
    } else if (op === 'ReduceMean' && kind.get(inputs[0]) === 'full' && sameInts(ints(node, 'axes'), [1]) && Number(attr(node, 'keepdims')?.i ?? 1) === 1 && inputs.length === 1) {
      out = 'pixel';
    } else {
      return undefined;
    }
    if ((node.output ?? []).length !== 1) return undefined;
    region.push(node);
    kind.set(node.output![0], out);
  }
  return undefined;
}

const sameInts = (a: readonly number[] | undefined, b: readonly number[]) => !!a && a.length === b.length && a.every((v, i) => v === b[i]);

/** The output upscaling and mask product of `model`, when it has the structure of UpscalingMatch. */
export function findUpscaling(model: Model): UpscalingMatch | undefined {
  const nodes = model.graph?.node ?? [];
  const constants = constantValues(model);
  const producer = new Map<string, Node>();
  for (const n of nodes) for (const o of n.output ?? []) producer.set(o, n);
  for (let i = 0; i < nodes.length; i++) {
    const first = transposedConv(nodes[i], constants);
    if (!first) continue;
    let second: TransposedConv | undefined;
    const between = pixelRegion(nodes, i + 1, first.node.output![0], first.cout, constants, (node, value) => {
      second = transposedConv(node, constants);
      return !!second && node.input![0] === value && second.cin === first.cout;
    });
    if (!between || !second) continue;
    const at = nodes.indexOf(second.node);
    let product: Node | undefined;
    const after = pixelRegion(nodes, at + 1, second.node.output![0], second.cout, constants, (node, value) => {
      if (node.opType !== 'Reshape' || node.input![0] !== value) return false;
      const readers = nodes.filter((n) => (n.input ?? []).includes(node.output![0]));
      product = readers.length === 1 && readers[0].opType === 'MatMul' && readers[0].input![1] === node.output![0] ? readers[0] : undefined;
      return !!product;
    });
    if (!after || !product) continue;
    const reshape = producer.get(first.node.input![0]);
    const transpose = reshape?.opType === 'Reshape' ? producer.get(reshape.input![0]) : undefined;
    const tokens = transpose?.opType === 'Transpose' && sameInts(ints(transpose, 'perm'), [0, 2, 1]) ? transpose.input![0] : undefined;
    return {
      input: first.node.input![0], tokens, first, second: second as TransposedConv,
      between, after,
      hyper: product.input![0], masks: product.output![0],
    };
  }
  return undefined;
}

export const upscalingProbes = (m: UpscalingMatch): string[] =>
  [m.input, ...(m.tokens ? [m.tokens] : []), m.hyper, m.masks, ...m.between.features, ...m.after.features];

/**
 * Rewrites the upscaling channels-last: each transposed convolution becomes
 * one matrix product of the pixels' channels with the kernel's k² blocks
 * side by side, the per-pixel layers run on [B, pixels, channels] (channel
 * means over the contiguous last axis), and the mask product reads the
 * pixels in that order, with one rearrangement of the small mask output at
 * the end. The same arithmetic; no strided channel reductions, scatter of
 * convolution blocks or transposes of the large activations (measured on
 * SAM's sizes, against the exported layers: 0.58× the time). True when rewritten.
 */
export function upscaleChannelsLast(model: Model, m: UpscalingMatch, shapes: ReadonlyMap<string, readonly number[]>): boolean {
  const graph = model.graph!;
  const input = shapes.get(m.input);
  const hyper = shapes.get(m.hyper);
  const masks = shapes.get(m.masks);
  const { first: c1, second: c2 } = m;
  if (!input || !hyper || !masks || input.length !== 4 || hyper.length !== 3 || input[1] !== c1.cin) return false;
  const [batch, , gh, gw] = input;
  const tokens = hyper[1];
  if (hyper[0] !== batch || hyper[2] !== c2.cout || !sameInts(masks, [batch, tokens, gh * gw * c1.k ** 2 * c2.k ** 2])) return false;
  if (m.tokens && !sameInts(shapes.get(m.tokens), [batch, gh * gw, c1.cin])) return false;
  const featureFits = (v: string, channels: number, side: number) => {
    const f = shapes.get(v);
    return !!f && f.length === 4 && (f[0] === 1 || f[0] === batch) && sameInts(f.slice(1), [channels, gh * side, gw * side]);
  };
  if (!m.between.features.every((v) => featureFits(v, c1.cout, c1.k)) || !m.after.features.every((v) => featureFits(v, c2.cout, c1.k * c2.k))) return false;
  const opset = Number((model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 0);
  const constants = constantValues(model);

  const added: Node[] = [];
  let counter = 0;
  const name = (what: string) => `sam_amg_upscale/${what}_${counter++}`;
  const op = (opType: string, inputs: string[], attrs: onnxProto.onnx.IAttributeProto[] = [], output = name(opType)) => {
    added.push({ name: output, opType, input: inputs, output: [output], attribute: attrs });
    return output;
  };
  const init = (t: Tensor) => {
    graph.initializer!.push(t);
    return t.name!;
  };
  const shape = (values: number[]) => init(int64Tensor(name('shape'), values));
  const INTS = onnxProto.onnx.AttributeProto.AttributeType.INTS;
  const perm = (p: number[]) => [{ name: 'perm', type: INTS, ints: p }];

  /** ConvTranspose as x [B, P, Cin] · W [Cin, k²·Cout] + b → [B, P·k², Cout], blocks in (a, b) order within each pixel. */
  const convAsProduct = (x: string, c: TransposedConv) => {
    const kk = c.k * c.k;
    const w = new Float32Array(c.cin * kk * c.cout);
    for (let i = 0; i < c.cin; i++) for (let o = 0; o < c.cout; o++) for (let ab = 0; ab < kk; ab++) w[(i * kk + ab) * c.cout + o] = c.weight[(i * c.cout + o) * kk + ab];
    let y = op('MatMul', [x, init(floatTensor(name('weight'), [c.cin, kk * c.cout], w))]);
    if (c.bias) {
      const b = new Float32Array(kk * c.cout);
      for (let ab = 0; ab < kk; ab++) b.set(c.bias, ab * c.cout);
      y = op('Add', [y, init(floatTensor(name('bias'), [kk * c.cout], b))]);
    }
    return op('Reshape', [y, shape([0, -1, c.cout])]);
  };

  /**
   * A feature map [Bf, C, H, W] in the rows' pixel order: H splits into (y, a1[, a2]) and W into (x, b1[, b2]),
   * reordered to (y, x, a1, b1[, a2, b2]). Fixed for the crop in SAM 2, so it runs once per crop.
   */
  const featureRows = (v: string, channels: number, blocks: number[]) => {
    const f = shapes.get(v)!;
    const split = op('Reshape', [v, shape([f[0], channels, gh, ...blocks, gw, ...blocks])]);
    const n = blocks.length;
    const order = [0, 2, 3 + n, ...blocks.flatMap((_, i) => [3 + i, 4 + n + i]), 1];
    return op('Reshape', [op('Transpose', [split], perm(order)), shape([f[0], -1, channels])]);
  };

  /** The region's nodes on channels-last values: per-channel constants flattened, channel means over the last axis. */
  const regionChannelsLast = (region: Region, start: string, startLast: string, channels: number, blocks: number[]) => {
    const renamed = new Map([[start, startLast]]);
    for (const v of region.features) renamed.set(v, featureRows(v, channels, blocks));
    const { nodes, exit } = region;
    for (const node of nodes) {
      const inputs = node.input!.map((v) => {
        if (renamed.has(v)) return renamed.get(v)!;
        const t = constants.get(v)!;
        const dims = tensorDims(t);
        if (dims.every((d) => d === 1)) return init(floatTensor(name('scalar'), [], floatValues(t)!.slice(0, 1)));
        return init(floatTensor(name('channels'), [dims.find((d) => d !== 1)!], floatValues(t)!));
      });
      let out: string;
      if (node.opType === 'ReduceMean') {
        out = opset >= 18
          ? op('ReduceMean', [inputs[0], init(int64Tensor(name('axes'), [-1]))], [{ name: 'keepdims', type: 2, i: 1 }])
          : op('ReduceMean', inputs, [{ name: 'axes', type: INTS, ints: [-1] }, { name: 'keepdims', type: 2, i: 1 }]);
      } else {
        out = op(node.opType!, inputs, node.attribute ?? [], name(node.opType!));
        if (node.domain) added[added.length - 1].domain = node.domain;
      }
      renamed.set(node.output![0], out);
    }
    return renamed.get(exit)!;
  };

  const pixels = m.tokens ?? op('Transpose', [op('Reshape', [m.input, shape([0, c1.cin, -1])])], perm([0, 2, 1]));
  const between = regionChannelsLast(m.between, c1.node.output![0], convAsProduct(pixels, c1), c1.cout, [c1.k]);
  const after = regionChannelsLast(m.after, c2.node.output![0], convAsProduct(between, c2), c2.cout, [c1.k, c2.k]);
  const product = op('MatMul', [after, op('Transpose', [m.hyper], perm([0, 2, 1]))]);
  // Rows run (y, x, a1, b1, a2, b2); the masks' pixels run (y, a1, a2) down and (x, b1, b2) across.
  const blocks = op('Reshape', [product, shape([batch, gh, gw, c1.k, c1.k, c2.k, c2.k, tokens])]);
  const masksOut = op('Reshape', [op('Transpose', [blocks], perm([0, 7, 1, 3, 5, 2, 4, 6])), shape([batch, tokens, -1])]);

  // The Shape nodes that read region values: the original [B, C, H, W] (or [B, 1, H, W]) as constants.
  const replacedShapes = new Set<Node>();
  for (const [region, channels, side] of [[m.between, c1.cout, c1.k], [m.after, c2.cout, c1.k * c2.k]] as const) {
    for (const { node, kind } of region.shapes) {
      graph.initializer!.push(int64Tensor(node.output![0], [batch, kind === 'full' ? channels : 1, gh * side, gw * side]));
      replacedShapes.add(node);
    }
  }
  const rebuilt: Node[] = [];
  for (const node of (graph.node ?? []).filter((n) => !replacedShapes.has(n))) {
    rebuilt.push({ ...node, input: (node.input ?? []).map((v) => (v === m.masks ? masksOut : v)) });
    if ((node.output ?? []).includes(m.masks)) rebuilt.push(...added);
  }
  const { nodes: kept, values } = neededFor(rebuilt, (graph.output ?? []).map((o) => o.name!));
  graph.node = kept;
  graph.initializer = (graph.initializer ?? []).filter((t) => values.has(t.name!));
  graph.valueInfo = [];
  return true;
}
