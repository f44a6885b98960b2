import onnxProto from 'onnx-proto';
import { hasExternalData } from './split.js';

const { onnx } = onnxProto;

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
  const needed = new Set(outputs.map((o) => o.name!));
  const nodes = graph.node ?? [];
  const kept: onnxProto.onnx.INodeProto[] = [];
  // Nodes are in topological order, so one backward pass finds everything the kept outputs depend on.
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i];
    if (!(node.output ?? []).some((o) => needed.has(o))) continue;
    kept.push(node);
    for (const input of node.input ?? []) needed.add(input);
    for (const attr of node.attribute ?? []) {
      // Subgraphs (If, Loop) read outer values by name.
      for (const sub of [attr.g, ...(attr.graphs ?? [])]) for (const n of sub?.node ?? []) for (const input of n.input ?? []) needed.add(input);
    }
  }
  graph.node = kept.reverse();
  graph.output = outputs;
  graph.initializer = (graph.initializer ?? []).filter((t) => needed.has(t.name!));
  graph.valueInfo = (graph.valueInfo ?? []).filter((v) => needed.has(v.name!));
  return onnx.ModelProto.encode(model).finish();
}
