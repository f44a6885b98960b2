import type onnxProto from 'onnx-proto';

/**
 * Declares the prompt axis (dim 0) of `inputs` dynamic where an export fixed
 * it at 1. segment_anything's own ONNX export declares `point_coords` as
 * [1, num_points, 2], yet its graph computes every shape from its inputs, so
 * it runs a batch of prompts once told it may; whether a graph does is for
 * the caller to check by running it. The outputs' first axis is declared
 * dynamic too. Returns whether anything was changed.
 */
export function freePromptAxis(model: onnxProto.onnx.IModelProto, inputs: readonly string[]): boolean {
  let changed = false;
  for (const input of model.graph?.input ?? []) {
    if (!inputs.includes(input.name ?? '')) continue;
    const first = input.type?.tensorType?.shape?.dim?.[0];
    if (!first || Number(first.dimValue ?? 0) !== 1) continue;
    first.dimValue = undefined;
    first.dimParam = 'prompts';
    changed = true;
  }
  if (!changed) return false;
  for (const output of model.graph?.output ?? []) {
    const first = output.type?.tensorType?.shape?.dim?.[0];
    if (first) {
      first.dimValue = undefined;
      first.dimParam = 'prompts';
    }
  }
  // Intermediate shapes the exporter inferred for one prompt would mislead onnxruntime.
  if (model.graph) model.graph.valueInfo = [];
  return true;
}
