import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import type { GraphInfo } from '../graph/proto-info.js';
import type { FamilyPlan } from './families.js';
import { ModelError } from './model-error.js';
import { ELEMENT_CODES, parseModel, protoGraphInfo } from '../graph/proto-info.js';
import { dropUnneeded, hasExternalData, pruneOutputs } from '../graph/prune.js';
import { freePromptAxis } from '../graph/prompt-axis.js';
import { maskFlagBroadcastsOnWidth, outputClamp, removeClamp } from '../graph/sam2-export.js';
import { encodeModel, splitAtCropInputs, splitAtOutput, typeInputs } from '../graph/split.js';
import { applyFolds, findFoldTargets, probingCopy, type Folded } from '../graph/fold.js';

/**
 * How the decoder graph runs: 'staged' computes the nodes that depend only
 * on the crop once per crop, the token stage (up to the predicted IoUs) for
 * every prompt and the mask stage only for prompts with a mask that can pass
 * the IoU filter; 'folded' (default) does the same with the attentions
 * between the prompt's few tokens and the image's many rewritten to do less
 * arithmetic (see src/graph/fold-attention.ts: the same maths, other float rounding);
 * 'split' the per-crop part once and the rest for every prompt; 'whole' runs
 * the exported graph as it is on every call, the reference the tests compare
 * the others against. All but 'folded' give the whole graph's outputs bit for bit.
 */
export type DecoderGraphMode = 'folded' | 'staged' | 'split' | 'whole';

export const DECODER_GRAPH_MODES: readonly DecoderGraphMode[] = ['folded', 'staged', 'split', 'whole'];

export interface DecoderSessions {
  /** Run for every call: the whole graph, or its per-prompt part (when staged, its token stage). */
  prompt: ort.InferenceSession;
  /** The per-crop part when split, with the inputs it reads. */
  crop?: { session: ort.InferenceSession; inputs: readonly string[]; handoff: readonly string[]; hoisted: number; needsCheck: boolean };
  /** When staged: the mask stage, run after the token stage for prompts whose masks are wanted. */
  masks?: ort.InferenceSession;
  graph: GraphInfo;
  plan: FamilyPlan;
  /** Makes a session of the whole (pruned) graph: the reference a split decoder is checked against. */
  openWhole: () => Promise<ort.InferenceSession>;
  /** Why a graph asked to split runs whole. */
  notSplit?: string;
  /** Why samexporter's ±32 clamp on a SAM 2 graph's mask output stayed (see src/graph/sam2-export.ts). */
  clampKept?: string;
  /** Whether a dynamic prompt axis was limited to one prompt per call (see src/graph/sam2-export.ts). */
  onePromptPerCall?: boolean;
  /** When folded: the attentions rewritten, and the whole graph's outputs on the sample call, to check the folded parts against. */
  folded?: Folded & { reference: ort.InferenceSession.OnnxValueMapType };
  /** The export fixed the prompt axis at 1; it was freed, and checked, so calls take several prompts. */
  promptAxisFreed?: boolean;
}

/**
 * Runs a decoder whose prompt axis was freed (`batched`) and the export as it
 * was (`single`) on the same prompts; true when they agree, so the freed one may take batches.
 */
export type PromptBatchCheck = (
  batched: { session: ort.InferenceSession; plan: FamilyPlan; graph: GraphInfo },
  single: { session: ort.InferenceSession; plan: FamilyPlan; graph: GraphInfo },
) => Promise<boolean>;

/** What a decoder is opened for: the inputs fixed for a crop, and one call of the shapes every call has. */
export interface DecoderCalls {
  cropConstant: ReadonlySet<string>;
  /** Every call feeds inputs of the same shapes (see SplitOptions.callShapesFixed). */
  callShapesFixed: boolean;
  /** Feeds of one call, with made-up values; read only when folding. */
  sampleCall: () => Record<string, ort.Tensor>;
}

/** A session from a model file; a file onnxruntime cannot load is a ModelError naming it. */
export async function createSession(file: string, options: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(file, options);
  } catch (err) {
    const first = String((err as Error).message).split('\n')[0];
    throw new ModelError(`${file}: not a loadable ONNX model (${first})`);
  }
}

/**
 * The graph as onnxruntime optimises it for `options` (fusions, folding,
 * layouts), read back: splitting the optimised graph and running both parts
 * unoptimised runs exactly the nodes the whole graph runs, so the split
 * changes no bit of the outputs.
 */
async function optimised(model: onnxProto.onnx.IModelProto, options: ort.InferenceSession.SessionOptions): Promise<onnxProto.onnx.IModelProto | undefined> {
  const folder = await mkdtemp(path.join(tmpdir(), 'sam-amg-optimised-'));
  try {
    const file = path.join(folder, 'decoder.onnx');
    // logSeverityLevel 3: onnxruntime warns, on every run, that an optimised model it saves is for this machine only; it is.
    const session = await ort.InferenceSession.create(encodeModel(model), { ...options, enableProfiling: false, optimizedModelFilePath: file, logSeverityLevel: 3 });
    await session.release();
    return parseModel(await readFile(file));
  } catch {
    return undefined;
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/**
 * The decoder, planned from its parsed graph, cut to the outputs sam-amg
 * reads and, unless 'whole', split at the values fixed for a crop (`perCall`
 * names the inputs that are, the embeddings and the inputs AMG never
 * varies, and says whether every call feeds the same shapes) and, when
 * 'staged', at its IoU output. Its file is read and parsed once.
 */
export async function openDecoder(
  file: string,
  planFor: (graph: GraphInfo) => FamilyPlan,
  perCall: (plan: FamilyPlan, graph: GraphInfo) => DecoderCalls,
  mode: DecoderGraphMode,
  options: ort.InferenceSession.SessionOptions,
  promptBatch?: PromptBatchCheck,
): Promise<DecoderSessions> {
  const bytes = await readFile(file).catch(() => {
    throw new ModelError(`${file}: model file not found`);
  });
  let model = parseModel(bytes);
  if (!model) throw new ModelError(`${file}: not a loadable ONNX model (not an ONNX protobuf)`);
  let graph = protoGraphInfo(model, file);
  let plan = planFor(graph);
  const freed = promptBatch && plan.family === 'sam' && plan.decoder.promptsPerCall === 1 && !hasExternalData(model)
    ? await freedPromptAxis(bytes, { graph, plan }, file, planFor, promptBatch, options) : undefined;
  if (freed) ({ model, graph, plan } = freed);
  const onePromptPerCall = plan.family === 'sam2' && plan.decoder.promptsPerCall > 1 && maskFlagBroadcastsOnWidth(model);
  if (onePromptPerCall) plan = { ...plan, decoder: { ...plan.decoder, promptsPerCall: 1 } };
  const clamp = plan.family === 'sam2' ? outputClamp(model, plan.decoder.lowResOutput) : undefined;
  // A session made from bytes cannot find external weights: such a graph keeps its clamp (and says so).
  const unclamped = clamp !== undefined && !hasExternalData(model);
  if (unclamped) {
    removeClamp(clamp);
    // Its bounds are read by nothing now (onnxruntime would warn about them on every load).
    dropUnneeded(model);
  }
  const pruned = pruneOutputs(model, [plan.decoder.lowResOutput, plan.decoder.iouOutput]) ?? (unclamped ? encodeModel(model) : undefined);
  const openWhole = async () => {
    // A graph onnxruntime loads from its file but not once pruned keeps running as it is.
    const lean = pruned && await ort.InferenceSession.create(pruned, options).catch(() => undefined);
    if (lean) return lean;
    // A freed prompt axis exists only in memory: the file still fixes it at 1.
    return freed ? ort.InferenceSession.create(encodeModel(freed.model), options) : createSession(file, options);
  };
  const clampKept = clamp && !unclamped ? 'its weights are in external files' : undefined;
  const promptAxisFreed = freed !== undefined;
  const whole = async (notSplit?: string): Promise<DecoderSessions> => ({ prompt: await openWhole(), graph, plan, openWhole, notSplit, clampKept, onePromptPerCall, promptAxisFreed });
  if (mode === 'whole') return whole();
  if (hasExternalData(model)) return whole('its weights are in external files');
  const { cropConstant, callShapesFixed, sampleCall } = perCall(plan, graph);
  // Folded on a copy, kept only whole: a graph the fold cannot probe or rewrite runs unfolded.
  const fold = mode === 'folded' && callShapesFixed ? await foldForCalls(model, cropConstant, sampleCall(), options).catch(() => undefined) : undefined;
  const folded = fold?.folded;
  const graphToSplit = await optimised(fold?.model ?? model, options);
  if (!graphToSplit) return whole('onnxruntime did not save its optimised graph');
  const split = splitAtCropInputs(graphToSplit, cropConstant, { callShapesFixed });
  if (!split) return whole('no part of the graph depends on the crop alone');
  // Already optimised: the parts run as they are.
  const asOptimised = { ...options, graphOptimizationLevel: 'disabled' as const };
  let crop: ort.InferenceSession | undefined;
  try {
    // A profile (bench:profile) is of the per-call part only.
    crop = await ort.InferenceSession.create(encodeModel(split.crop), { ...asOptimised, enableProfiling: false });
    const cropPart = { session: crop, inputs: split.cropInputs, handoff: split.handoff, hoisted: split.hoisted, needsCheck: split.needsCheck };
    const stages = mode !== 'split' && callShapesFixed ? splitAtOutput(split.prompt, plan.decoder.iouOutput) : undefined;
    if (!stages) {
      const prompt = await ort.InferenceSession.create(typeInputs(split.prompt, outputTypes(crop)), asOptimised);
      return { prompt, crop: cropPart, graph, plan, openWhole, folded, clampKept, onePromptPerCall, promptAxisFreed };
    }
    // The two stages alternate every prompt: a session's threads spinning after its run would take the
    // cores from the other's (measured: each stage about 1.5× slower with spinning on).
    const alternating = { ...asOptimised, extra: { session: { intra_op: { allow_spinning: '0' } } } };
    const tokens = await ort.InferenceSession.create(typeInputs(stages.tokens, outputTypes(crop)), alternating);
    const handed = new Map([...outputTypes(crop), ...outputTypes(tokens)]);
    const masks = await ort.InferenceSession.create(typeInputs(stages.masks, handed), { ...alternating, enableProfiling: false });
    return { prompt: tokens, masks, crop: cropPart, graph, plan, openWhole, folded, clampKept, onePromptPerCall, promptAxisFreed };
  } catch (err) {
    await crop?.release();
    return whole(`onnxruntime did not load its parts (${String((err as Error).message).split('\n')[0]})`);
  }
}

/**
 * The decoder with its prompt axis freed (src/graph/prompt-axis.ts), when
 * the freed graph loads, plans with several prompts a call, and gives the
 * export's outputs on a batch of prompts (`check`); undefined otherwise.
 */
async function freedPromptAxis(
  bytes: Uint8Array,
  single: { graph: GraphInfo; plan: FamilyPlan },
  file: string,
  planFor: (graph: GraphInfo) => FamilyPlan,
  check: PromptBatchCheck,
  options: ort.InferenceSession.SessionOptions,
): Promise<{ model: onnxProto.onnx.ModelProto; graph: GraphInfo; plan: FamilyPlan } | undefined> {
  // A copy to free: the export's own graph stays as parsed, in case the freed one fails the check.
  const model = parseModel(bytes)!;
  if (!freePromptAxis(model, ['point_coords', 'point_labels'])) return undefined;
  const graph = protoGraphInfo(model, file);
  const plan = planFor(graph);
  if (plan.decoder.promptsPerCall === 1) return undefined;
  const probe = { ...options, enableProfiling: false, logSeverityLevel: 3 as const };
  let batched: ort.InferenceSession | undefined;
  let original: ort.InferenceSession | undefined;
  try {
    batched = await ort.InferenceSession.create(encodeModel(model), probe);
    original = await ort.InferenceSession.create(bytes, probe);
    return await check({ session: batched, plan, graph }, { session: original, ...single }) ? { model, graph, plan } : undefined;
  } catch {
    return undefined;
  } finally {
    await batched?.release();
    await original?.release();
  }
}

/**
 * A copy of `model` with the rewrites that do less arithmetic for calls of
 * the sample's shapes (src/graph/fold.ts): the graph is run once on the
 * sample with the values whose shapes they need as extra outputs. Returns the
 * copy, what was rewritten and the graph's own outputs on the sample;
 * undefined when nothing was.
 */
async function foldForCalls(
  original: onnxProto.onnx.IModelProto,
  cropConstant: ReadonlySet<string>,
  sample: Record<string, ort.Tensor>,
  options: ort.InferenceSession.SessionOptions,
): Promise<{ model: onnxProto.onnx.IModelProto; folded: NonNullable<DecoderSessions['folded']> } | undefined> {
  const bytes = encodeModel(original);
  const model = parseModel(bytes)!;
  const targets = findFoldTargets(model);
  if (!targets) return undefined;
  const probe = await ort.InferenceSession.create(encodeModel(probingCopy(bytes, targets.probes)), { ...options, enableProfiling: false });
  let values: ort.InferenceSession.OnnxValueMapType;
  try {
    values = await probe.run(Object.fromEntries(probe.inputNames.map((n) => [n, sample[n]])));
  } finally {
    await probe.release();
  }
  const shapes = new Map(targets.probes.filter((v) => values[v].type === 'float32').map((v) => [v, values[v].dims.map(Number)]));
  const folded = applyFolds(model, targets, shapes, cropConstant);
  if (!folded) return undefined;
  const outputs = (original.graph!.output ?? []).map((o) => o.name!);
  return { model, folded: { ...folded, reference: Object.fromEntries(outputs.map((o) => [o, values[o]])) } };
}

/** The element type and shape of each output of a session, for the inputs of a part that reads them. */
function outputTypes(session: ort.InferenceSession): Map<string, { elemType: number; shape: readonly (number | string)[] }> {
  const types = new Map(session.outputNames.map((name, i) => {
    const meta = session.outputMetadata[i];
    return [name, meta?.isTensor ? { elemType: ELEMENT_CODES[meta.type], shape: meta.shape } : { elemType: 0, shape: [] }] as const;
  }));
  if ([...types.values()].some((t) => !t.elemType)) throw new Error('a value handed between the parts is not a tensor');
  return types;
}
