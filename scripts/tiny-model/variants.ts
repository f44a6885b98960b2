import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const DT = onnx.TensorProto.DataType;

/**
 * Rewrites of a finished tiny model into the forms quantised and
 * half-precision exports take, so the tests load what users bring:
 * float16 inputs and outputs (onnxconverter-common with keep_io_types off)
 * and int8 QDQ pairs (onnxruntime's static quantisation).
 */

function decode(bytes: Uint8Array): onnxProto.onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}

function encode(model: onnxProto.onnx.ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

function renameUses(nodes: onnxProto.onnx.INodeProto[], from: string, to: string): void {
  for (const node of nodes) node.input = (node.input ?? []).map((n) => (n === from ? to : n));
}

function renameProducer(nodes: onnxProto.onnx.INodeProto[], from: string, to: string): void {
  for (const node of nodes) node.output = (node.output ?? []).map((n) => (n === from ? to : n));
}

const castNode = (name: string, input: string, output: string, to: number): onnxProto.onnx.INodeProto => ({
  name, opType: 'Cast', input: [input], output: [output],
  attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: to }],
});

/** Every float32 graph input and output becomes float16, cast at the graph's edge. */
export function withFloat16Io(bytes: Uint8Array): Uint8Array {
  const model = decode(bytes);
  const graph = model.graph!;
  const nodes = graph.node as onnxProto.onnx.INodeProto[];
  const before: onnxProto.onnx.INodeProto[] = [];
  const after: onnxProto.onnx.INodeProto[] = [];
  for (const input of graph.input ?? []) {
    const tensor = input.type!.tensorType!;
    if (tensor.elemType !== DT.FLOAT) continue;
    const inner = `${input.name}__float32`;
    renameUses(nodes, input.name!, inner);
    before.push(castNode(`fp16_in_${before.length}`, input.name!, inner, DT.FLOAT));
    tensor.elemType = DT.FLOAT16;
  }
  for (const output of graph.output ?? []) {
    const tensor = output.type!.tensorType!;
    if (tensor.elemType !== DT.FLOAT) continue;
    const inner = `${output.name}__float32`;
    renameProducer(nodes, output.name!, inner);
    renameUses(nodes, output.name!, inner);
    after.push(castNode(`fp16_out_${after.length}`, inner, output.name!, DT.FLOAT16));
    tensor.elemType = DT.FLOAT16;
  }
  graph.node = [...before, ...nodes, ...after];
  return encode(model);
}

/**
 * A QuantizeLinear/DequantizeLinear pair (int8, symmetric, step `scale`) on
 * the graph output `name`, as static int8 quantisation leaves activations.
 */
export function withInt8Output(bytes: Uint8Array, name: string, scale: number): Uint8Array {
  const model = decode(bytes);
  const graph = model.graph!;
  const nodes = graph.node as onnxProto.onnx.INodeProto[];
  const exact = `${name}__float32`;
  const quantised = `${name}__int8`;
  renameProducer(nodes, name, exact);
  renameUses(nodes, name, exact);
  graph.initializer = [
    ...(graph.initializer ?? []),
    { name: 'qdq_scale', dims: [], dataType: DT.FLOAT, floatData: [scale] },
    { name: 'qdq_zero_point', dims: [], dataType: DT.INT8, int32Data: [0] },
  ];
  graph.node = [
    ...nodes,
    { name: 'qdq_quantize', opType: 'QuantizeLinear', input: [exact, 'qdq_scale', 'qdq_zero_point'], output: [quantised] },
    { name: 'qdq_dequantize', opType: 'DequantizeLinear', input: [quantised, 'qdq_scale', 'qdq_zero_point'], output: [name] },
  ];
  return encode(model);
}
