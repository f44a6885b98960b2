/**
 * Two quirks of samexporter's SAM 2 decoder graph that SAM 2's own
 * predictor does not have, found by structure.
 */
import type onnxProto from 'onnx-proto';
import { constantValues, floatValues } from './tensor-proto.js';

type Node = onnxProto.onnx.INodeProto;

/** samexporter's SAM 2 decoder ends in `torch.clamp(masks, -32.0, 32.0)`. */
export const SAM2_EXPORT_CLAMP = 32;

/** A Clip's bound: its input (opset 11 on) or its attribute (before); undefined when not a float32 constant scalar. */
function clipBound(node: Node, constants: Map<string, onnxProto.onnx.ITensorProto>, index: 1 | 2): number | undefined {
  const name = node.input?.[index];
  if (name) {
    const t = constants.get(name);
    const values = t && floatValues(t);
    return values?.length === 1 ? values[0] : undefined;
  }
  return (node.attribute ?? []).find((a) => a.name === (index === 1 ? 'min' : 'max'))?.f ?? undefined;
}

/**
 * The Clip that `output` comes straight from, when its bounds are
 * samexporter's ±32: SAM 2's predictor upsamples the decoder's logits
 * unclamped and clamps only the low-resolution copy it hands back for the
 * next prompt, so this clamp moves mask edges and stability counts wherever
 * a cell beyond ±32 sits next to the zero crossing.
 */
export function outputClamp(model: onnxProto.onnx.IModelProto, output: string): Node | undefined {
  const clip = (model.graph?.node ?? []).find((n) => n.opType === 'Clip' && n.output?.[0] === output);
  if (!clip || !clip.input?.[0]) return undefined;
  const constants = constantValues(model);
  const symmetric = clipBound(clip, constants, 1) === -SAM2_EXPORT_CLAMP && clipBound(clip, constants, 2) === SAM2_EXPORT_CLAMP;
  return symmetric ? clip : undefined;
}

/** Makes the clamp an Identity, in place: the output carries the logits unclamped, every other output is computed as before. */
export function removeClamp(clip: Node): void {
  clip.opType = 'Identity';
  clip.input = [clip.input![0]];
  clip.attribute = [];
}

const ELEMENTWISE = new Set(['Mul', 'Add', 'Sub', 'Div']);

/**
 * Whether the rank-1 `has_mask_input` [n] meets the [n,256,64,64] mask
 * features in arithmetic without first being reshaped to [n,1,1,1], as in
 * samexporter's `has_mask_input * mask_downscaling(mask_input)`: numpy
 * broadcasting then lines n up with the width axis, so a call of n prompts
 * fails unless n is 1 (or, by coincidence, the width).
 */
export function maskFlagBroadcastsOnWidth(model: onnxProto.onnx.IModelProto, input = 'has_mask_input'): boolean {
  const nodes = model.graph?.node ?? [];
  const names = new Set([input]);
  // Casts and Identities pass the flag on unchanged.
  for (const n of nodes) {
    if ((n.opType === 'Cast' || n.opType === 'Identity') && names.has(n.input?.[0] ?? '')) names.add(n.output![0]);
  }
  return nodes.some((n) => ELEMENTWISE.has(n.opType ?? '') && (n.input ?? []).some((i) => names.has(i)));
}
