import onnxProto from 'onnx-proto';

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
}

const hasSubgraph = (node: Node) => (node.attribute ?? []).some((a) => a.g || (a.graphs ?? []).length > 0);

/** Only the nodes (and initializers) that the named outputs need, in their order. */
function needed(nodes: Node[], outputs: Iterable<string>): { nodes: Node[]; values: Set<string> } {
  const values = new Set(outputs);
  const kept: Node[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    if (!(nodes[i].output ?? []).some((o) => values.has(o))) continue;
    kept.push(nodes[i]);
    for (const input of nodes[i].input ?? []) if (input) values.add(input);
  }
  return { nodes: kept.reverse(), values };
}

function subModel(original: Model, name: string, graph: onnxProto.onnx.IGraphProto): Model {
  return onnx.ModelProto.create({
    irVersion: original.irVersion, producerName: 'sam-amg split', producerVersion: original.producerVersion,
    opsetImport: original.opsetImport, domain: original.domain, graph: { name, ...graph },
  });
}

/**
 * Splits `model` at the values that depend only on `cropInputs` and the
 * graph's own constants: every node all of whose inputs are such values
 * moves to the per-crop graph (graph analysis, not names, so it serves every
 * exporter). The per-prompt graph runs the same nodes on the same values as
 * the whole graph. Undefined when nothing would move, when a graph output
 * would come from the per-crop part, or when weights live in external files.
 */
export function splitAtCropInputs(model: Model, cropInputs: ReadonlySet<string>): GraphSplit | undefined {
  const graph = model.graph;
  if (!graph) return undefined;
  const initializers = graph.initializer ?? [];
  if (initializers.some((t) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL)) return undefined;
  const inputs = (graph.input ?? []).filter((i) => !initializers.some((t) => t.name === i.name));
  // Static values (initializers, constants and what is computed from them alone) go to whichever part
  // reads them, so both keep their constants and onnxruntime can fold and fuse as in the whole graph.
  const statics = new Set<string>(initializers.map((t) => t.name!));
  const fromCrop = new Set<string>(inputs.map((i) => i.name!).filter((n) => cropInputs.has(n)));
  const kind = new Map<Node, 'static' | 'crop' | 'prompt'>();
  for (const node of graph.node ?? []) {
    const ins = (node.input ?? []).filter(Boolean);
    let k: 'static' | 'crop' | 'prompt' = 'prompt';
    if (!hasSubgraph(node) && ins.every((i) => statics.has(i) || fromCrop.has(i))) {
      k = ins.some((i) => fromCrop.has(i)) ? 'crop' : 'static';
    }
    kind.set(node, k);
    for (const o of node.output ?? []) if (o && k !== 'prompt') (k === 'static' ? statics : fromCrop).add(o);
  }
  const nodes = graph.node ?? [];
  const outputs = graph.output ?? [];
  if (!nodes.some((n) => kind.get(n) === 'crop') || outputs.some((o) => fromCrop.has(o.name!))) return undefined;

  const prompt = needed(nodes.filter((n) => kind.get(n) !== 'crop'), outputs.map((o) => o.name!));
  const handoff = [...prompt.values].filter((v) => fromCrop.has(v) && !inputs.some((i) => i.name === v));
  if (handoff.length === 0) return undefined;
  const crop = needed(nodes.filter((n) => kind.get(n) !== 'prompt'), handoff);
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
  };
}

/** Declares the handoff inputs of the per-prompt graph with the types the per-crop session reports. */
export function typeHandoff(split: GraphSplit, types: ReadonlyMap<string, { elemType: number; shape: readonly (number | string)[] }>): Uint8Array {
  for (const input of split.prompt.graph!.input!) {
    const t = types.get(input.name!);
    if (!t || input.type) continue;
    input.type = {
      tensorType: {
        elemType: t.elemType,
        shape: { dim: t.shape.map((d) => (typeof d === 'number' && d >= 0 ? { dimValue: d } : { dimParam: String(d) })) },
      },
    };
  }
  return onnx.ModelProto.encode(split.prompt).finish();
}

export const encodeModel = (model: Model): Uint8Array => onnx.ModelProto.encode(model).finish();

/**
 * Declares the inputs' dimensions as they are actually fed (the prompt axis,
 * points per prompt), so onnxruntime can fold the shape arithmetic that
 * depends on them into constants: the official export repeats the image
 * embedding once per prompt by a count read from the prompt's shape, which
 * hides that the repeat depends on the crop alone. Only symbolic dimensions
 * change; a fixed one that differs is left for onnxruntime to report.
 */
export function fixInputShapes(model: Model, shapes: Readonly<Record<string, readonly number[]>>): void {
  for (const input of model.graph?.input ?? []) {
    const fed = shapes[input.name!];
    const dims = input.type?.tensorType?.shape?.dim;
    if (!fed || !dims || dims.length !== fed.length) continue;
    dims.forEach((d, k) => {
      const value = d.dimParam ? 0 : Number(String(d.dimValue ?? 0));
      if (!(value > 0)) dims[k] = { dimValue: fed[k] };
    });
  }
}
