import { access } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { preprocessShape } from '../amg/geometry.js';
import type { CropEmbedding, DecodedPrompts, DecodeOptions, PromptModel } from '../amg/prompt-model.js';
import { pilBilinearResize } from '../image/pil-resize.js';
import type { RgbImage } from '../image/rgb-image.js';
import { DEFAULT_SETTINGS, type AmgReference } from '../settings/settings.js';
import {
  cropConstantInputs, embeddingFrame, floatData, floatTensor, madeUpEmbedding, OnnxEmbedding, promptFeeds, retype, sampleFrame, samplePoints,
} from './decoder-feeds.js';
import type { GraphInfo } from '../graph/proto-info.js';
import { graphInfo, planFamily, type FamilyId, type FamilyPlan } from './families.js';
import { DEFAULT_MODEL_CONFIG, readModelConfig, type ModelConfig } from './model-config.js';
import { ModelError } from './model-error.js';
import { IMAGENET_MEAN, IMAGENET_STD, normalizeAndPad, sam2Preprocess, toHwcFloat } from './preprocess.js';
import { createSession, openDecoder, type DecoderGraphMode, type DecoderSessions, type PromptBatchCheck } from './decoder-sessions.js';
import { CandidateFilterSession } from './candidate-filter.js';
import { CPU, createOnDevice, executionProviders, type Device } from './device.js';
import type { FoldedAttention } from '../graph/fold-attention.js';

export interface ModelFiles {
  encoder: string;
  decoder: string;
  /** Optional model.json. */
  config?: string;
}

export interface RuntimeOptions {
  /** onnxruntime intra-op threads per session (default: onnxruntime's choice). */
  threads?: number;
  /** Graph optimisation level (default 'all'). */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * Reuse memory plans between runs of the same shapes (default false: measured
   * with npm run bench, off cut peak RSS by about 30 % for the MobileSAM
   * architecture, at 0.69–1.12× the time; see docs/performance.md).
   */
  enableMemPattern?: boolean;
  /**
   * Most prompts sent in one decoder call when the decoder's prompt axis is
   * dynamic (default 1: measured with npm run bench on CPU, batches of 4 to
   * 64 showed no steady gain from run to run, while memory grows with the
   * batch, since the graph copies the image embedding per prompt; see the
   * docs/performance.md).
   */
  promptsPerCall?: number;
  /** Profile the decoder session with onnxruntime's profiler into files named from this prefix (bench:profile). */
  profileDecoderTo?: string;
  /** 'folded' (default), 'staged', 'split' or 'whole': how the decoder graph runs (see DecoderGraphMode). */
  decoderGraph?: DecoderGraphMode;
  /** Told once when a decoder asked to split runs whole, with why. */
  onNotice?: (message: string) => void;
  /**
   * The execution provider (default the CPU). Off the CPU the decoder runs
   * as one graph ('whole') with `DEFAULT_SETTINGS.pointsPerBatch` prompts a
   * call unless told otherwise: the split and folded decoder were measured
   * on CPUs only, and on a GPU batching is what pays (reasoned, not measured:
   * these machines have no GPU).
   */
  device?: Device;
  /**
   * Filter candidates with the filter graph on the device, then upscale and
   * encode only NMS survivors on the host (default: on for GPU providers; off
   * on the CPU, where the exact sparse upscaler computes far fewer pixels).
   */
  filterGraph?: boolean;
}

/** `--filter-graph`'s default for a device. */
export function defaultFilterGraph(device: Device): boolean {
  return device.kind !== 'cpu';
}

function sessionOptions(options: RuntimeOptions, profilePrefix?: string): ort.InferenceSession.SessionOptions {
  return {
    ...(profilePrefix ? { enableProfiling: true, profileFilePrefix: profilePrefix } : {}),
    graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
    enableMemPattern: options.enableMemPattern ?? false,
    executionMode: 'sequential',
    interOpNumThreads: 1,
    ...(options.threads ? { intraOpNumThreads: options.threads } : {}),
  };
}

async function openSession(file: string, options: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
  try {
    await access(file);
  } catch {
    throw new ModelError(`${file}: model file not found`);
  }
  return createSession(file, options);
}

const DEFAULT_PROMPTS_PER_CALL = 1;

/**
 * How far a folded decoder's outputs may be from the whole graph's, relative
 * to the largest of them: float rounding moves them by about 1e-6; a fold
 * that misread a graph moves them by far more.
 */
const FOLD_TOLERANCE = 1e-3;

/** Whether every value of `actual` is within `tolerance` × max(1, the largest magnitude in `reference`) of `reference`'s. */
function withinTolerance(actual: Float32Array, reference: Float32Array, tolerance: number): boolean {
  let scale = 1;
  for (const v of reference) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < actual.length; i++) if (!(Math.abs(actual[i] - reference[i]) <= tolerance * scale)) return false;
  return true;
}

/**
 * A promptable segmentation model as an ONNX encoder/decoder pair of one of
 * the supported families (see families.ts), checked when loaded.
 */
export class SamOnnxModel implements PromptModel {
  private readonly zeroMasks = { data: new Float32Array(0) };

  private constructor(
    private readonly encoder: ort.InferenceSession,
    private decoderSessions: DecoderSessions,
    private readonly files: ModelFiles,
    readonly plan: FamilyPlan,
    private readonly config: ModelConfig,
    private readonly encoderGraph: GraphInfo,
    private readonly decoderGraph: GraphInfo,
    private readonly maxPromptsPerCall: number,
    private readonly candidateFilter?: CandidateFilterSession,
  ) {
    if (candidateFilter) {
      this.filterCandidates = (lowRes, iouPreds, count, frame, filters) =>
        candidateFilter.filter(lowRes, iouPreds, count, this.lowResSize, frame, filters);
    }
  }

  /** Set when the model was loaded with the filter graph on (see RuntimeOptions.filterGraph). */
  readonly filterCandidates?: PromptModel['filterCandidates'];

  get family(): FamilyId {
    return this.plan.family;
  }

  /**
   * The decoder's per-crop part, when it runs split: how many nodes it holds, the values it hands over,
   * whether it is staged and whether it was checked against the whole graph at load (and passed).
   */
  get decoderSplit(): { hoisted: number; handoff: readonly string[]; staged: boolean; checked: boolean } | undefined {
    const crop = this.decoderSessions.crop;
    return crop && { hoisted: crop.hoisted, handoff: crop.handoff, staged: this.decoderSessions.masks !== undefined, checked: crop.needsCheck };
  }

  /** When the decoder runs folded: the attentions rewritten, how many channel means run as convolutions, whether the upscaling runs channels-last. */
  get decoderFolds(): { attentions: readonly FoldedAttention[]; channelMeans: number; channelsLast: boolean } | undefined {
    const folded = this.decoderSessions.folded;
    return folded && { attentions: folded.attentions, channelMeans: folded.channelMeans, channelsLast: folded.channelsLast };
  }

  /** Side of the square the encoder sees. */
  get inputSize(): number {
    return this.plan.encoder.size;
  }

  get lowResSize(): number {
    return this.plan.decoder.lowResSize;
  }

  /**
   * Letterboxing resizes the longest side to the input size as the
   * reference's `ResizeLongestSide` does: a short side that rounds to 0
   * there fails in the reference's resize (PIL's), and ours would divide by
   * it. Stretching (SAM 2) and the graph's own resize (EfficientSAM) take
   * any crop that has pixels, as their references do.
   */
  cropSizeProblem(width: number, height: number): string | undefined {
    if (width < 1 || height < 1) return 'empty';
    const { resize, size } = this.plan.encoder;
    if (resize !== 'letterbox') return undefined;
    const [h, w] = preprocessShape(height, width, size);
    return h === 0 || w === 0 ? `too thin: the short side scales to 0 pixels at the model's ${size}-pixel input` : undefined;
  }

  /** SAM 2 models follow SAM 2's own generator; every other family SAM's. */
  get amgReference(): AmgReference {
    return this.plan.family === 'sam2' ? 'sam2' : 'sam';
  }

  /** Whether the export fixed its prompt axis at 1 and it was freed at load, so calls take several prompts. */
  get promptAxisFreed(): boolean {
    return this.decoderSessions.promptAxisFreed ?? false;
  }

  /** Prompts the decoder takes in one call: 1, or Infinity when its prompt axis is dynamic. */
  get promptsPerCall(): number {
    return this.plan.decoder.promptsPerCall;
  }

  /** Prompts sent per decoder call: the graph's limit, capped by the promptsPerCall option. */
  get promptsSentPerCall(): number {
    return Math.min(this.plan.decoder.promptsPerCall, this.maxPromptsPerCall);
  }

  static async load(files: ModelFiles, options: RuntimeOptions = {}): Promise<SamOnnxModel> {
    const config = files.config ? await readModelConfig(files.config) : DEFAULT_MODEL_CONFIG;
    const device = options.device ?? CPU;
    const onCpu = device.kind === 'cpu';
    const encoder = await createOnDevice(device, (o) => openSession(files.encoder, o), sessionOptions(options));
    const maxPerCall = options.promptsPerCall ?? (onCpu ? DEFAULT_PROMPTS_PER_CALL : DEFAULT_SETTINGS.pointsPerBatch);
    try {
      const encoderGraph = graphInfo(encoder, files.encoder);
      const open = (mode: DecoderGraphMode) => openDecoder(
        files.decoder,
        (graph) => planFamily(encoderGraph, graph, config.inputSize, config.family),
        (plan, graph) => ({
          cropConstant: cropConstantInputs(plan),
          // A split decoder is always sent the same number of prompts (see decode), so every call has the same shapes.
          callShapesFixed: true,
          sampleCall: () => {
            const n = Math.min(plan.decoder.promptsPerCall, maxPerCall);
            return promptFeeds(plan, graph, sampleFrame(plan, madeUpEmbedding(plan, graph)), samplePoints(n, 0), n, { data: new Float32Array(0) });
          },
        }),
        mode,
        { ...sessionOptions(options, options.profileDecoderTo), ...(onCpu ? {} : { executionProviders: executionProviders(device) }) },
        // Batches are asked for (off the CPU by default): an export whose prompt axis is fixed at 1 may still take them.
        maxPerCall > 1 ? promptBatchAgrees : undefined,
      );
      const decoder = await open(options.decoderGraph ?? (onCpu ? 'folded' : 'whole'));
      const filter = (options.filterGraph ?? defaultFilterGraph(device)) ? await CandidateFilterSession.open(device, sessionOptions(options)) : undefined;
      const model = new SamOnnxModel(encoder, decoder, files, decoder.plan, config, encoderGraph, decoder.graph, maxPerCall, filter);
      await model.checkDecoderParts(open, options.onNotice);
      if (model.decoderSessions.notSplit) options.onNotice?.(`${files.decoder}: the decoder runs as one graph on every call: ${model.decoderSessions.notSplit}`);
      if (decoder.onePromptPerCall && maxPerCall > 1) {
        options.onNotice?.(`${files.decoder}: one prompt per call, not ${maxPerCall}: its has_mask_input meets the mask features without a reshape (samexporter's SAM 2 export), which fails for more`);
      }
      if (decoder.clampKept) options.onNotice?.(`${files.decoder}: its mask logits stay clamped to ±32, unlike SAM 2's predictor (${decoder.clampKept}); mask edges may differ`);
      return model;
    } catch (err) {
      await encoder.release();
      throw err;
    }
  }

  /** Loads a model folder: `encoder.onnx`, `decoder.onnx` (or the names its model.json gives) and model.json. */
  static async loadDir(dir: string, options: RuntimeOptions = {}): Promise<SamOnnxModel> {
    return SamOnnxModel.load(await modelFilesIn(dir), options);
  }

  async embed(crop: RgbImage): Promise<CropEmbedding> {
    // generateMaskData refuses such crops before encoding any; this guards other callers.
    const problem = this.cropSizeProblem(crop.width, crop.height);
    if (problem) throw new Error(`${crop.width}×${crop.height} pixels are ${problem}`);
    const e = this.plan.encoder;
    const S = e.size;
    let feed: ort.Tensor;
    const f32 = (data: Float32Array, dims: number[]) => floatTensor(this.encoderGraph, e.input, data, dims);
    if (e.resize === 'native') {
      feed = f32(normalizeAndPad(crop, 0, [0, 0, 0], [1, 1, 1], 1 / 255, crop.height, crop.width), [1, 3, crop.height, crop.width]);
    } else if (e.resize === 'stretch') {
      // SAM 2's own transform: the 8-bit crop resized in float32 with antialiasing, ImageNet statistics.
      feed = f32(sam2Preprocess(crop, S, IMAGENET_MEAN, IMAGENET_STD), [1, 3, S, S]);
    } else {
      const [h, w] = preprocessShape(crop.height, crop.width, S);
      const resized = pilBilinearResize(crop, w, h);
      feed = e.layout === 'hwc'
        ? f32(toHwcFloat(resized), [h, w, 3])
        : f32(normalizeAndPad(resized, S, this.config.pixelMean, this.config.pixelStd), [1, 3, S, S]);
    }
    const out = await this.encoder.run({ [e.input]: feed }, e.outputs);
    const tensors: Record<string, ort.Tensor> = {};
    e.outputs.forEach((name, i) => {
      const input = i === 0 && e.renameFirst ? e.renameFirst : name;
      tensors[input] = retype(this.decoderGraph, input, out[name]);
    });
    return this.withCropPart(this.embeddingOf(tensors, crop.width, crop.height));
  }

  private embeddingOf(tensors: Record<string, ort.Tensor>, w: number, h: number): OnnxEmbedding {
    return embeddingFrame(this.plan, tensors, w, h);
  }

  /** Runs a split decoder's per-crop part, once: its results join the embedding's tensors under their own names. */
  private async withCropPart(embedding: OnnxEmbedding): Promise<OnnxEmbedding> {
    const cropPart = this.decoderSessions.crop;
    if (cropPart) {
      const all = this.feeds(embedding, new Float32Array(2 * this.promptsSentPerCall), this.promptsSentPerCall);
      Object.assign(embedding.tensors, await cropPart.session.run(Object.fromEntries(cropPart.inputs.map((name) => [name, all[name]]))));
    }
    return embedding;
  }

  /**
   * Checks a split decoder on the user's own graph before any image is
   * segmented with it, where the split rests on more than its construction:
   * folded attentions against the whole graph's outputs within float
   * rounding, a split that took a Shape as fixed bit for bit. One that fails
   * runs in the next safer way (folded → staged → whole), and says why.
   */
  private async checkDecoderParts(open: (mode: DecoderGraphMode) => Promise<DecoderSessions>, onNotice?: (message: string) => void): Promise<void> {
    const tensors = madeUpEmbedding(this.plan, this.decoderGraph);
    const n = this.promptsSentPerCall;
    /** The split decoder's outputs on the made-up embedding for each call's points; undefined where it fails. */
    const splitRuns = async (calls: number[]) => {
      try {
        const embedding = await this.withCropPart(sampleFrame(this.plan, tensors));
        const outputs = [];
        for (const call of calls) outputs.push(await this.runPrompts(embedding, samplePoints(n, call), n));
        return outputs;
      } catch {
        return undefined;
      }
    };
    const { folded } = this.decoderSessions;
    if (folded) {
      const [out] = await splitRuns([0]) ?? [];
      if (out && this.outputsAgree(out, folded.reference, FOLD_TOLERANCE)) return;
      await this.releaseDecoderParts();
      this.decoderSessions = await open('staged');
      onNotice?.(`${this.files.decoder}: its attentions run unfolded: the folded graph did not reproduce the whole graph's outputs within float rounding`);
    }
    if (!this.decoderSessions.crop?.needsCheck) return;
    const whole = await this.decoderSessions.openWhole();
    const d = this.plan.decoder;
    const split = await splitRuns([0, 1]);
    let same = !!split;
    for (const call of [0, 1]) {
      if (!same) break;
      const expected = await whole.run(this.feeds(sampleFrame(this.plan, tensors), samplePoints(n, call), n), [d.lowResOutput, d.iouOutput]);
      same = this.outputsAgree(split![call], expected, 0);
    }
    if (same) {
      await whole.release();
      return;
    }
    await this.releaseDecoderParts();
    this.decoderSessions = { prompt: whole, graph: this.decoderGraph, plan: this.plan, openWhole: this.decoderSessions.openWhole,
      notSplit: 'its parts did not reproduce the whole graph\'s output bit for bit' };
  }

  /**
   * Whether both outputs sam-amg reads agree: bit for bit when `tolerance`
   * is 0, else within `tolerance` × the larger of 1 and the reference's largest magnitude.
   */
  private outputsAgree(actual: ort.InferenceSession.OnnxValueMapType, reference: ort.InferenceSession.OnnxValueMapType, tolerance: number): boolean {
    const d = this.plan.decoder;
    return [d.lowResOutput, d.iouOutput].every((name) => {
      const [a, b] = [actual[name], reference[name]];
      if (!a || !b || a.dims.join() !== b.dims.join()) return false;
      const [x, y] = [floatData(a), floatData(b)];
      if (tolerance === 0) return Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength));
      return withinTolerance(x, y, tolerance);
    });
  }

  async decode(embedding: CropEmbedding, points: Float32Array, count: number, options: DecodeOptions = {}): Promise<DecodedPrompts> {
    if (!(embedding instanceof OnnxEmbedding)) throw new TypeError('embedding does not come from this model');
    const d = this.plan.decoder;
    const L = d.lowResSize;
    const plane = L * L;
    const lowRes = new Float32Array(count * 3 * plane);
    const iouPreds = new Float32Array(count * 3);
    // A split decoder's parts were cut for calls of exactly promptsSentPerCall prompts: a shorter last call
    // repeats its last prompt, and the repeats' outputs are dropped.
    const fixed = this.decoderSessions.crop !== undefined;
    const perCall = fixed ? this.promptsSentPerCall : Math.min(this.promptsSentPerCall, count);
    const skip = d.tokens === 4 ? 1 : 0;
    for (let first = 0; first < count; first += perCall) {
      const n = Math.min(perCall, count - first);
      const sent = fixed ? perCall : n;
      const callPoints = new Float32Array(2 * sent);
      for (let k = 0; k < sent; k++) callPoints.set(points.subarray(2 * (first + Math.min(k, n - 1)), 2 * (first + Math.min(k, n - 1)) + 2), 2 * k);
      const out = await this.runPrompts(embedding, callPoints, sent, options.iouFloor);
      const iouData = floatData(out[d.iouOutput]);
      for (let k = 0; k < n; k++) iouPreds.set(iouData.subarray(k * d.tokens + skip, k * d.tokens + skip + 3), (first + k) * 3);
      const masks = out[d.lowResOutput];
      if (!masks) continue; // no mask of these prompts can pass the IoU filter
      const tokens = masks.dims[masks.dims.length - 3];
      const prompts = masks.dims.slice(0, -3).reduce((a, b) => a * b, 1);
      if (tokens !== d.tokens || prompts !== sent || masks.dims.at(-1) !== L || masks.dims.at(-2) !== L) {
        throw new ModelError(`${this.files.decoder}: ${d.lowResOutput} came out [${masks.dims.join(',')}], expected ${sent} prompts × ${d.tokens} masks of ${L}×${L}`);
      }
      const maskData = floatData(masks);
      for (let k = 0; k < n; k++) {
        lowRes.set(maskData.subarray((k * d.tokens + skip) * plane, (k * d.tokens + skip + 3) * plane), (first + k) * 3 * plane);
      }
    }
    return { lowRes, iouPreds };
  }

  /**
   * One decoder call; a split decoder reads the per-crop values from the
   * embedding, and a staged one runs its mask stage only when one of the
   * prompts' three IoUs is above `iouFloor` (otherwise the masks are absent).
   */
  private async runPrompts(embedding: OnnxEmbedding, points: Float32Array, n: number, iouFloor?: number): Promise<ort.InferenceSession.OnnxValueMapType> {
    const d = this.plan.decoder;
    const { prompt, crop, masks } = this.decoderSessions;
    const all = this.feeds(embedding, points, n);
    if (!crop) return prompt.run(all, [d.lowResOutput, d.iouOutput]);
    const pick = (session: ort.InferenceSession, from: ort.InferenceSession.OnnxValueMapType = {}) =>
      Object.fromEntries(session.inputNames.map((name) => [name, from[name] ?? embedding.tensors[name] ?? all[name]]));
    if (!masks) return prompt.run(pick(prompt), [d.lowResOutput, d.iouOutput]);
    const tokens = await prompt.run(pick(prompt));
    const ious = floatData(tokens[d.iouOutput]);
    const skip = d.tokens === 4 ? 1 : 0;
    let wanted = iouFloor === undefined;
    for (let k = 0; k < n && !wanted; k++) wanted = ious.subarray(k * d.tokens + skip, k * d.tokens + skip + 3).some((v) => v > iouFloor!);
    if (!wanted) return { [d.iouOutput]: tokens[d.iouOutput] };
    const out = await masks.run(pick(masks, tokens), [d.lowResOutput]);
    return { [d.iouOutput]: tokens[d.iouOutput], [d.lowResOutput]: out[d.lowResOutput] };
  }

  /** One call's decoder inputs for `n` single-point prompts. */
  private feeds(embedding: OnnxEmbedding, points: Float32Array, n: number): Record<string, ort.Tensor> {
    return promptFeeds(this.plan, this.decoderGraph, embedding, points, n, this.zeroMasks);
  }

  /** Writes the decoder's profile (see RuntimeOptions.profileDecoderTo). */
  endDecoderProfiling(): void {
    this.decoderSessions.prompt.endProfiling();
  }

  private async releaseDecoderParts(): Promise<void> {
    await this.decoderSessions.prompt.release();
    await this.decoderSessions.crop?.session.release();
    await this.decoderSessions.masks?.release();
  }

  async release(): Promise<void> {
    await this.encoder.release();
    await this.releaseDecoderParts();
    await this.candidateFilter?.release();
  }
}

/** Prompts of the load-time check that a freed prompt axis gives the export's outputs. */
const PROBE_PROMPTS = 3;

/** Whether a decoder with its prompt axis freed gives, for a batch of prompts, what the export gives for each alone. */
const promptBatchAgrees: PromptBatchCheck = async (batched, single) => {
  const zeros = { data: new Float32Array(0) };
  const d = batched.plan.decoder;
  const outputs = [d.lowResOutput, d.iouOutput];
  const points = samplePoints(PROBE_PROMPTS, 0);
  const frame = (side: typeof batched) => sampleFrame(side.plan, madeUpEmbedding(side.plan, side.graph));
  const all = await batched.session.run(promptFeeds(batched.plan, batched.graph, frame(batched), points, PROBE_PROMPTS, zeros), outputs);
  const embedding = frame(single);
  for (let k = 0; k < PROBE_PROMPTS; k++) {
    const one = await single.session.run(promptFeeds(single.plan, single.graph, embedding, points.slice(2 * k, 2 * k + 2), 1, zeros), outputs);
    for (const name of outputs) {
      const expected = floatData(one[name]);
      const got = floatData(all[name]).subarray(k * expected.length, (k + 1) * expected.length);
      if (all[name].dims[0] !== PROBE_PROMPTS || got.length !== expected.length || !withinTolerance(got, expected, FOLD_TOLERANCE)) return false;
    }
  }
  return true;
};

/** The files of a model folder: the pair named by its model.json, else encoder.onnx and decoder.onnx. */
export async function modelFilesIn(dir: string): Promise<ModelFiles> {
  const config = path.join(dir, 'model.json');
  const parsed = await readModelConfig(config);
  return {
    encoder: path.join(dir, parsed.encoderFile ?? 'encoder.onnx'),
    decoder: path.join(dir, parsed.decoderFile ?? 'decoder.onnx'),
    config,
  };
}
