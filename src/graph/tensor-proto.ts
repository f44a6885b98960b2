import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type Tensor = onnxProto.onnx.ITensorProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;

export const tensorDims = (t: Tensor): number[] => (t.dims ?? []).map(Number);

/** The values of a float32 tensor held in the model (raw bytes or float_data); undefined for any other type. */
export function floatValues(t: Tensor): Float32Array | undefined {
  if (t.dataType !== FLOAT || t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) return undefined;
  const count = tensorDims(t).reduce((a, b) => a * b, 1);
  if (t.rawData && t.rawData.length > 0) {
    // ONNX raw data is little-endian, as is every CPU onnxruntime-node ships for.
    if (t.rawData.length !== 4 * count || !littleEndian) return undefined;
    // Copied: the raw bytes may sit at an offset that is not a multiple of 4.
    const bytes = new Uint8Array(t.rawData);
    const out = new Float32Array(count);
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  const data = t.floatData ?? [];
  return data.length === count ? Float32Array.from(data) : undefined;
}

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** A float32 initializer holding `data` with `dims`. */
export function floatTensor(name: string, dims: readonly number[], data: Float32Array): Tensor {
  return { name, dims: [...dims], dataType: FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** An int64 initializer (shape arguments). */
export function int64Tensor(name: string, values: readonly number[]): Tensor {
  return { name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, int64Data: [...values] };
}

/**
 * The constant tensors of a graph by value name: initializers, Constant
 * nodes' values, and Identity nodes of either (PyTorch's exporter shares one
 * initializer between equal weights through Identity nodes).
 */
export function constantValues(model: onnxProto.onnx.IModelProto): Map<string, Tensor> {
  const constants = new Map<string, Tensor>();
  for (const t of model.graph?.initializer ?? []) constants.set(t.name!, t);
  for (const node of model.graph?.node ?? []) {
    const out = node.output?.[0];
    if (!out) continue;
    const value = node.opType === 'Constant' ? (node.attribute ?? []).find((a) => a.name === 'value')?.t : undefined;
    if (value) constants.set(out, value);
    if (node.opType === 'Identity' && constants.has(node.input?.[0] ?? '')) constants.set(out, constants.get(node.input![0])!);
  }
  return constants;
}
