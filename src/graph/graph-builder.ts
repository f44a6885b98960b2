import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export type Dim = number | string;
export type AttrValue = number | number[] | string | { floats: number[] };

const ELEM = {
  float: onnx.TensorProto.DataType.FLOAT, int64: onnx.TensorProto.DataType.INT64, bool: onnx.TensorProto.DataType.BOOL,
} as const;
export type ElemType = keyof typeof ELEM;

/** ONNX's numeric type codes (for Cast's `to`). */
export const ONNX_INT64 = ELEM.int64;
export const ONNX_FLOAT = ELEM.float;

function attribute(name: string, value: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  if (typeof value === 'object') return { name, type: T.FLOATS, floats: value.floats };
  if (Number.isInteger(value)) return { name, type: T.INT, i: value };
  return { name, type: T.FLOAT, f: value };
}

function valueInfo(name: string, elem: ElemType, shape: Dim[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEM[elem],
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/**
 * A small builder for hand-made ONNX graphs: each `op` returns its output
 * name; node and constant names are numbered in build order, so the same
 * build code always serialises to the same bytes.
 */
export class GraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private counter = 0;

  input(name: string, elem: ElemType, shape: Dim[]): string {
    this.inputs.push(valueInfo(name, elem, shape));
    return name;
  }

  output(name: string, elem: ElemType, shape: Dim[]): void {
    this.outputs.push(valueInfo(name, elem, shape));
  }

  constant(elem: ElemType, dims: number[], values: number[]): string {
    const name = `const_${this.counter++}`;
    if (elem === 'bool') throw new Error('boolean constants are not supported');
    this.initializers.push(elem === 'float'
      ? { name, dims, dataType: ELEM.float, floatData: values }
      : { name, dims, dataType: ELEM.int64, int64Data: values });
    return name;
  }

  /** An empty name in `inputs` is an omitted optional input (Resize's roi and scales). */
  op(type: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputName?: string): string {
    const out = outputName ?? `${type.toLowerCase()}_${this.counter++}`;
    this.nodes.push({
      name: `node_${this.nodes.length}`,
      opType: type,
      input: inputs,
      output: [out],
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return out;
  }

  serialize(graphName: string, opset: number, producer = 'sam-amg tiny-model'): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: producer,
      producerVersion: '1',
      opsetImport: [{ domain: '', version: opset }],
      graph: {
        name: graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
