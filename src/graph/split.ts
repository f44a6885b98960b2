import onnxProto from 'onnx-proto';
import { hasExternalData, neededFor } from './prune.js';

const { onnx } = onnxProto;
type Model = onnxProto.onnx.IModelProto;
type Node = onnxProto.onnx.INodeProto;

/**
 * A decoder cut in two: the nodes whose inputs are fixed for a whole crop
 * (its embedding and the inputs AMG never varies) run once per crop; the
 * rest, for every prompt, reads their results as inputs.
 */
export interface GraphSplit {
  /** Per-crop graph: inputs `cropInputs`, outputs `handoff` (untyped: onnxruntime infers their types on load). */
  crop: Model;
  /** Per-prompt graph: the original's outputs, from the prompt inputs, the crop inputs it reads itself and `handoff`. */
  prompt: Model;
  cropInputs: string[];
  /** Values the per-crop graph computes for the per-prompt one. */
  handoff: string[];
  /** Nodes moved to the per-crop graph. */
  hoisted: number;
  /**
   * Whether the split rests on more than its construction: a Shape counted as
   * fixed for the crop (an analysis that could misread a graph), or an
   * operator that draws random numbers (the per-crop part would draw once).
   * Such a split should be checked against the whole graph before use.
   */
  needsCheck: boolean;
}

const hasSubgraph = (node: Node) => (node.attribute ?? []).some((a) => a.g || (a.graphs ?? []).length > 0);

function subModel(original: Model, name: string, graph: onnxProto.onnx.IGraphProto): Model {
  return onnx.ModelProto.create({
    irVersion: original.irVersion, producerName: 'sam-amg split', producerVersion: original.producerVersion,
    opsetImport: original.opsetImport, domain: original.domain, graph: { name, ...graph },
  });
}

/** Operators whose outputs differ from run to run. */
const NONDETERMINISTIC = new Set(['RandomUniform', 'RandomNormal', 'RandomUniformLike', 'RandomNormalLike', 'Multinomial', 'Bernoulli', 'Dropout']);
/** Operators whose output shape depends on their input values, not only on input shapes. */
const DATA_DEPENDENT_SHAPE = new Set(['NonZero', 'Unique', 'Compress', 'NonMaxSuppression', 'TopK', 'Loop', 'Scan', 'If', 'StringSplit']);
/** Operators whose inputs after the first are shape arguments (sizes, axes, repeats, pads...). */
const SHAPE_ARGUMENTS = new Set([
  'Reshape', 'Expand', 'Tile', 'Slice', 'Pad', 'Resize', 'Upsample', 'OneHot', 'Squeeze', 'Unsqueeze', 'ReduceSum',
  'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp',
  'ReduceSumSquare', 'Split', 'CenterCropPad', 'Col2Im', 'DFT', 'STFT', 'MaxUnpool', 'TopK',
]);
/** Operators every input of which is a shape argument. */
const ALL_SHAPE_ARGUMENTS = new Set(['ConstantOfShape', 'Range']);

export interface SplitOptions {
  /**
   * Every call feeds inputs of the same shapes (one prompt a call): then a
   * Shape (or Size) of any value whose shape cannot depend on prompt data is
   * the same for the whole crop, and so is what is computed from it. The
   * official export repeats the image embedding by a count read from the
   * prompt's shape; without this, all that follows would count as per prompt.
   */
  callShapesFixed?: boolean;
}

/** The nodes of a graph by what their outputs depend on, and the values fixed for a crop. */
interface Partition {
  kind: Map<Node, 'static' | 'crop' | 'prompt'>;
  /** Initializers, constants and values computed from them alone. */
  statics: Set<string>;
  /** Values computed from the crop inputs (and statics), the same for every prompt of a crop. */
  fromCrop: Set<string>;
  /** Whether a Shape of a prompt value was taken as fixed (see SplitOptions.callShapesFixed). */
  shapesAssumed: boolean;
}

function partition(model: Model, cropInputs: ReadonlySet<string>, options: SplitOptions): Partition {
  const graph = model.graph!;
  const initializers = graph.initializer ?? [];
  const inputs = (graph.input ?? []).filter((i) => !initializers.some((t) => t.name === i.name));
  // Static values (initializers, constants and what is computed from them alone) go to whichever part
  // reads them, so both keep their constants.
  const statics = new Set<string>(initializers.map((t) => t.name!));
  const fromCrop = new Set<string>(inputs.map((i) => i.name!).filter((n) => cropInputs.has(n)));
  /** Values whose shape may differ from call to call. */
  const shapeVaries = new Set<string>();
  const isPromptValue = (v: string) => !statics.has(v) && !fromCrop.has(v);
  const kind = new Map<Node, 'static' | 'crop' | 'prompt'>();
  let shapesAssumed = false;
  for (const node of graph.node ?? []) {
    const ins = (node.input ?? []).filter(Boolean);
    const op = node.opType ?? '';
    let k: 'static' | 'crop' | 'prompt' = 'prompt';
    if (options.callShapesFixed && (op === 'Shape' || op === 'Size') && ins.length === 1 && !shapeVaries.has(ins[0])) {
      k = 'crop';
      if (!fromCrop.has(ins[0]) && !statics.has(ins[0])) shapesAssumed = true;
    } else if (!hasSubgraph(node) && ins.every((i) => statics.has(i) || fromCrop.has(i))) {
      k = ins.some((i) => fromCrop.has(i)) ? 'crop' : 'static';
    }
    kind.set(node, k);
    const varies = !options.callShapesFixed || DATA_DEPENDENT_SHAPE.has(op) || hasSubgraph(node)
      || ins.some((i) => shapeVaries.has(i))
      || (SHAPE_ARGUMENTS.has(op) && ins.slice(1).some(isPromptValue))
      || (ALL_SHAPE_ARGUMENTS.has(op) && ins.some(isPromptValue));
    for (const o of node.output ?? []) {
      if (!o) continue;
      if (k !== 'prompt') (k === 'static' ? statics : fromCrop).add(o);
      if (varies) shapeVaries.add(o);
    }
  }
  return { kind, statics, fromCrop, shapesAssumed };
}

/** Whether a value of `model` is the same for every prompt of a crop (see splitAtCropInputs). */
export function fixedForCrop(model: Model, cropInputs: ReadonlySet<string>, options: SplitOptions = {}): (value: string) => boolean {
  const { statics, fromCrop } = partition(model, cropInputs, options);
  return (value) => statics.has(value) || fromCrop.has(value);
}

/**
 * Splits `model` at the values that depend only on `cropInputs` and the
 * graph's own constants: every node all of whose inputs are such values
 * moves to the per-crop graph (graph analysis, not names, so it serves every
 * exporter). The per-prompt graph runs the same nodes on the same values as
 * the whole graph. The per-crop graph may also read prompt inputs, for their
 * shapes only (fed with any values of the call's shapes). Undefined when
 * nothing would move, when a graph output would come from the per-crop part,
 * or when weights live in external files.
 */
export function splitAtCropInputs(model: Model, cropInputs: ReadonlySet<string>, options: SplitOptions = {}): GraphSplit | undefined {
  const graph = model.graph;
  if (!graph) return undefined;
  const initializers = graph.initializer ?? [];
  if (hasExternalData(model)) return undefined;
  const inputs = (graph.input ?? []).filter((i) => !initializers.some((t) => t.name === i.name));
  const { kind, fromCrop, shapesAssumed } = partition(model, cropInputs, options);
  const nodes = graph.node ?? [];
  const outputs = graph.output ?? [];
  if (!nodes.some((n) => kind.get(n) === 'crop') || outputs.some((o) => fromCrop.has(o.name!))) return undefined;

  const prompt = neededFor(nodes.filter((n) => kind.get(n) !== 'crop'), outputs.map((o) => o.name!));
  const handoff = [...prompt.values].filter((v) => fromCrop.has(v) && !inputs.some((i) => i.name === v));
  if (handoff.length === 0) return undefined;
  // The per-crop graph takes what the handoff needs, including prompt-path nodes whose shapes a Shape node reads.
  const crop = neededFor(nodes, handoff);
  const initializersFor = (values: Set<string>) => initializers.filter((t) => values.has(t.name!));
  const cropGraph = {
    node: crop.nodes,
    input: inputs.filter((i) => crop.values.has(i.name!)),
    initializer: initializersFor(crop.values),
    output: handoff.map((name) => ({ name })),
  };
  const promptGraph = {
    node: prompt.nodes,
    input: [...inputs.filter((i) => prompt.values.has(i.name!)), ...handoff.map((name) => ({ name }))],
    initializer: initializersFor(prompt.values),
    output: outputs,
  };
  return {
    crop: subModel(model, `${graph.name ?? 'decoder'}_per_crop`, cropGraph),
    prompt: subModel(model, `${graph.name ?? 'decoder'}_per_prompt`, promptGraph),
    cropInputs: cropGraph.input.map((i) => i.name!),
    handoff,
    hoisted: crop.nodes.filter((n) => kind.get(n) === 'crop').length,
    needsCheck: shapesAssumed || nodes.some((n) => NONDETERMINISTIC.has(n.opType ?? '')),
  };
}

/**
 * The per-prompt graph cut at what its first output (the predicted IoUs)
 * needs: a token stage with that output, and a mask stage with the others,
 * reading the token stage's values it needs as inputs. The mask stage can
 * then run only for prompts whose masks can survive the IoU filter. Each
 * stage runs the same nodes as before. Undefined when the two outputs share
 * everything.
 */
export function splitAtOutput(model: Model, first: string): { tokens: Model; masks: Model; handoff: string[] } | undefined {
  const graph = model.graph!;
  const nodes = graph.node ?? [];
  const outputs = graph.output ?? [];
  const firstOutput = outputs.find((o) => o.name === first);
  if (!firstOutput) return undefined;
  const tokens = neededFor(nodes, [first]);
  const inTokens = new Set(tokens.nodes);
  const rest = outputs.filter((o) => o !== firstOutput);
  const masks = neededFor(nodes.filter((n) => !inTokens.has(n)), rest.map((o) => o.name!));
  if (masks.nodes.length === 0) return undefined;
  const produced = new Set(tokens.nodes.flatMap((n) => n.output ?? []));
  const handoff = [...masks.values].filter((v) => produced.has(v));
  const initializers = graph.initializer ?? [];
  const inputs = (graph.input ?? []).filter((i) => !initializers.some((t) => t.name === i.name));
  const part = (name: string, used: { nodes: Node[]; values: Set<string> }, extraInputs: string[], outs: onnxProto.onnx.IValueInfoProto[]) =>
    subModel(model, `${graph.name}_${name}`, {
      node: used.nodes,
      input: [...inputs.filter((i) => used.values.has(i.name!)), ...extraInputs.map((n) => ({ name: n }))],
      initializer: initializers.filter((t) => used.values.has(t.name!)),
      output: outs,
    });
  return {
    tokens: part('tokens', tokens, [], [firstOutput, ...handoff.map((name) => ({ name }))]),
    masks: part('masks', masks, handoff, rest),
    handoff,
  };
}

/** Declares a model's untyped inputs with the types a session that produces them reports. */
export function typeInputs(model: Model, types: ReadonlyMap<string, { elemType: number; shape: readonly (number | string)[] }>): Uint8Array {
  for (const input of model.graph!.input!) {
    const t = types.get(input.name!);
    if (!t || input.type) continue;
    input.type = {
      tensorType: {
        elemType: t.elemType,
        shape: { dim: t.shape.map((d) => (typeof d === 'number' && d >= 0 ? { dimValue: d } : { dimParam: String(d) })) },
      },
    };
  }
  return onnx.ModelProto.encode(model).finish();
}

export const encodeModel = (model: Model): Uint8Array => onnx.ModelProto.encode(model).finish();
