import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export interface TensorInfo {
  type: string;
  shape: readonly (number | string)[];
}

/** Names, dtypes and shapes of a graph's inputs and outputs. */
export interface GraphInfo {
  file: string;
  inputs: Map<string, TensorInfo>;
  outputs: Map<string, TensorInfo>;
}

/** onnxruntime's name for each ONNX element type, as its session metadata gives it. */
const ELEMENT_TYPES: Readonly<Record<number, string>> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string',
  9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 16: 'bfloat16',
};

/** The ONNX element type of each onnxruntime type name. */
export const ELEMENT_CODES: Readonly<Record<string, number>> = Object.fromEntries(
  Object.entries(ELEMENT_TYPES).map(([code, name]) => [name, Number(code)]),
);

function tensorInfo(value: onnxProto.onnx.IValueInfoProto): TensorInfo {
  const tensor = value.type?.tensorType;
  if (!tensor) return { type: 'non-tensor', shape: [] };
  const shape = (tensor.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : d.dimValue != null ? Number(d.dimValue) : -1));
  return { type: ELEMENT_TYPES[tensor.elemType ?? 0] ?? `type ${tensor.elemType}`, shape };
}

/**
 * The same names, types and shapes an onnxruntime session reports, read from
 * the parsed model, so a model can be planned (and cut) before any session
 * is made from it. Initializers listed as graph inputs (older exports) are
 * not inputs a caller feeds.
 */
export function protoGraphInfo(model: onnxProto.onnx.IModelProto, file: string): GraphInfo {
  const graph = model.graph ?? {};
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const entries = (values: onnxProto.onnx.IValueInfoProto[] | null | undefined) =>
    new Map((values ?? []).map((v) => [v.name ?? '', tensorInfo(v)] as const));
  const inputs = entries((graph.input ?? []).filter((v) => !initializers.has(v.name)));
  return { file, inputs, outputs: entries(graph.output) };
}

/** Parses ONNX bytes, or returns undefined when they are not an ONNX model. */
export function parseModel(bytes: Uint8Array): onnxProto.onnx.ModelProto | undefined {
  try {
    const model = onnx.ModelProto.decode(bytes);
    return model.graph ? model : undefined;
  } catch {
    return undefined;
  }
}
