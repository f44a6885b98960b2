import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type Node = onnxProto.onnx.INodeProto;

/** Whether weights live in files beside the model, which a session made from bytes cannot find. */
export function hasExternalData(model: onnxProto.onnx.IModelProto): boolean {
  return (model.graph?.initializer ?? []).some((t) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL);
}

/**
 * The nodes the named values need, in graph order, and every value they
 * read (inputs and initializers among them). Nodes are in topological order,
 * so one backward pass finds them; subgraphs (If, Loop) read outer values by name.
 */
export function neededFor(nodes: readonly Node[], outputs: Iterable<string>): { nodes: Node[]; values: Set<string> } {
  const values = new Set(outputs);
  const kept: Node[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i];
    if (!(node.output ?? []).some((o) => values.has(o))) continue;
    kept.push(node);
    for (const input of node.input ?? []) if (input) values.add(input);
    for (const attr of node.attribute ?? []) {
      for (const sub of [attr.g, ...(attr.graphs ?? [])]) for (const n of sub?.node ?? []) for (const input of n.input ?? []) values.add(input);
    }
  }
  return { nodes: kept.reverse(), values };
}

/**
 * The model without the graph outputs sam-amg does not read and the nodes
 * only they need. onnxruntime runs every node of a graph whatever the caller
 * fetches, and the official SAM decoder's `masks` output upscales four masks
 * to 1024² on every call (measured: 0.76–0.88× the decoder time without it).
 * Undefined when nothing would go, or when weights live in external files
 * (which a session made from bytes cannot find). Cuts `model` in place.
 */
export function pruneOutputs(model: onnxProto.onnx.IModelProto, keep: readonly string[]): Uint8Array | undefined {
  const graph = model.graph;
  if (!graph) return undefined;
  const outputs = (graph.output ?? []).filter((o) => keep.includes(o.name!));
  if (outputs.length === (graph.output ?? []).length) return undefined;
  if (hasExternalData(model)) return undefined;
  graph.output = outputs;
  dropUnneeded(model);
  return onnx.ModelProto.encode(model).finish();
}

/** Removes, in place, the nodes and initializers no graph output needs (say, the bounds of a Clip made an Identity). */
export function dropUnneeded(model: onnxProto.onnx.IModelProto): void {
  const graph = model.graph;
  if (!graph) return;
  const { nodes: kept, values: needed } = neededFor(graph.node ?? [], (graph.output ?? []).map((o) => o.name!));
  graph.node = kept;
  graph.initializer = (graph.initializer ?? []).filter((t) => needed.has(t.name!));
  graph.valueInfo = (graph.valueInfo ?? []).filter((v) => needed.has(v.name!));
}
