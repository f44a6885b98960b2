import onnxProto from 'onnx-proto';
import { constantValues, floatTensor } from './tensor-proto.js';

type Model = onnxProto.onnx.IModelProto;
type Node = onnxProto.onnx.INodeProto;

const attr = (node: Node, name: string) => (node.attribute ?? []).find((a) => a.name === name);

/** The ReduceMean nodes over axis 1 of a rank-4 value, keeping the axis: the channel means of a LayerNorm2d. */
export function findChannelMeans(model: Model): Node[] {
  const constants = constantValues(model);
  return (model.graph?.node ?? []).filter((node) => {
    if (node.opType !== 'ReduceMean' || Number(attr(node, 'keepdims')?.i ?? 1) !== 1) return false;
    // Opset 18 moved the axes from an attribute to a second input.
    const fromInput = node.input?.[1] ? constants.get(node.input[1]) : undefined;
    const axes = attr(node, 'axes')?.ints?.map(Number) ?? fromInput?.int64Data?.map(Number)
      ?? (fromInput?.rawData?.length === 8 ? [Number(new DataView(fromInput.rawData.buffer, fromInput.rawData.byteOffset, 8).getBigInt64(0, true))] : undefined);
    return axes?.length === 1 && axes[0] === 1;
  });
}

/**
 * Rewrites each channel mean of a per-call rank-4 value as a 1×1 convolution
 * with weights 1/C: the same value in real arithmetic (float rounding
 * differs), and onnxruntime's ReduceMean over the strided channel axis of
 * NCHW is slow (measured: the two of SAM's output upscaling took 22 % of the
 * mask stage). For the channel means the channels-last upscaling
 * (fold-upscaling.ts) does not take. Returns how many were rewritten.
 */
export function channelMeansAsConv(model: Model, nodes: readonly Node[], shapes: ReadonlyMap<string, readonly number[]>, fixedForCrop: (value: string) => boolean): number {
  const graph = model.graph!;
  let count = 0;
  for (const node of nodes) {
    const input = node.input![0];
    const shape = shapes.get(input);
    if (!shape || shape.length !== 4 || fixedForCrop(input)) continue;
    const weight = `${node.output![0]}/sam_amg_channel_mean`;
    graph.initializer!.push(floatTensor(weight, [1, shape[1], 1, 1], new Float32Array(shape[1]).fill(1 / shape[1])));
    node.opType = 'Conv';
    node.input = [input, weight];
    node.attribute = [];
    count++;
  }
  return count;
}
