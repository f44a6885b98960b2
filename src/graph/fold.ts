import type onnxProto from 'onnx-proto';
import { findAttentions, foldAttentions, valuesToProbe, type AttentionMatch, type FoldedAttention } from './fold-attention.js';
import { channelMeansAsConv, findChannelMeans } from './fold-channel-mean.js';
import { findUpscaling, upscaleChannelsLast, upscalingProbes, type UpscalingMatch } from './fold-upscaling.js';
import { parseModel } from './proto-info.js';
import { fixedForCrop } from './split.js';

type Model = onnxProto.onnx.IModelProto;

/** What the rewrites that do less arithmetic found in a graph, and the values whose shapes they need. */
export interface FoldTargets {
  attentions: AttentionMatch[];
  upscaling?: UpscalingMatch;
  /** Values to add as outputs of one probing run: the rewrites need their shapes. */
  probes: string[];
}

/** Finds what fold-attention.ts, fold-upscaling.ts and fold-channel-mean.ts can rewrite; undefined when nothing. */
export function findFoldTargets(model: Model): FoldTargets | undefined {
  const attentions = findAttentions(model);
  const upscaling = findUpscaling(model);
  const means = findChannelMeans(model);
  if (attentions.length === 0 && !upscaling && means.length === 0) return undefined;
  const probes = [...new Set([...valuesToProbe(attentions), ...(upscaling ? upscalingProbes(upscaling) : []), ...means.map((n) => n.input![0])])];
  return { attentions, upscaling, probes };
}

/** The encoded graph parsed anew with the probes as extra outputs, for the one run that measures their shapes. */
export function probingCopy(bytes: Uint8Array, probes: readonly string[]): Model {
  const probing = parseModel(bytes)!;
  const outputs = new Set((probing.graph!.output ?? []).map((o) => o.name!));
  probing.graph!.output!.push(...probes.filter((v) => !outputs.has(v)).map((name) => ({ name })));
  return probing;
}

export interface Folded {
  attentions: FoldedAttention[];
  /** Channel means (LayerNorm2d) run as 1×1 convolutions. */
  channelMeans: number;
  /** Whether the output upscaling and mask product run channels-last (see fold-upscaling.ts). */
  channelsLast: boolean;
}

/**
 * Rewrites `model` in place for calls whose probed values have `shapes`
 * (float32 values only: the new weights are float32), leaving what depends
 * on the crop alone to the per-crop part. Undefined when nothing was rewritten.
 */
export function applyFolds(model: Model, targets: FoldTargets, shapes: ReadonlyMap<string, readonly number[]>, cropConstant: ReadonlySet<string>): Folded | undefined {
  const fixed = fixedForCrop(model, cropConstant, { callShapesFixed: true });
  const { upscaling } = targets;
  const channelsLast = !!upscaling && !fixed(upscaling.input) && upscaleChannelsLast(model, upscaling, shapes);
  // The channel means the channels-last upscaling did not take (it rebuilt the node list: look again).
  const channelMeans = channelMeansAsConv(model, findChannelMeans(model), shapes, fixed);
  const attentions = foldAttentions(model, targets.attentions, shapes, fixed);
  if (attentions.length === 0 && channelMeans === 0 && !channelsLast) return undefined;
  return { attentions, channelMeans, channelsLast };
}
