import { access } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { preprocessShape } from '../amg/geometry.js';
import type { CropEmbedding, DecodedPrompts, DecodeOptions, PromptModel } from '../amg/prompt-model.js';
import { pilBilinearResize } from '../image/pil-resize.js';
import type { RgbImage } from '../image/rgb-image.js';
import { fixedDim, graphInfo, planFamily, type FamilyId, type FamilyPlan, type GraphInfo } from './families.js';
import { fromFloat16, toFloat16 } from './float16.js';
import { DEFAULT_MODEL_CONFIG, readModelConfig, type ModelConfig } from './model-config.js';
import { ModelError } from './model-error.js';
import { IMAGENET_MEAN, IMAGENET_STD, normalizeAndPad, toHwcFloat } from './preprocess.js';
import { createSession, openDecoder, type DecoderGraphMode, type DecoderSessions } from './decoder-sessions.js';

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
   * architecture, at 0.69–1.12× the time; see the README's Performance).
   */
  enableMemPattern?: boolean;
  /**
   * Most prompts sent in one decoder call when the decoder's prompt axis is
   * dynamic (default 1: measured with npm run bench on CPU, batches of 4 to
   * 64 showed no steady gain from run to run, while memory grows with the
   * batch, since the graph copies the image embedding per prompt; see the
   * README's Performance).
   */
  promptsPerCall?: number;
  /** Profile the decoder session with onnxruntime's profiler into files named from this prefix (bench:profile). */
  profileDecoderTo?: string;
  /** 'staged' (default), 'split' or 'whole': how the decoder graph runs (see DecoderGraphMode). */
  decoderGraph?: DecoderGraphMode;
  /** Told once when a decoder asked to split runs whole, with why. */
  onNotice?: (message: string) => void;
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

/** A crop's encoder outputs, keyed by the decoder input they feed, plus its frame. */
class OnnxEmbedding implements CropEmbedding {
  constructor(
    readonly tensors: Record<string, ort.Tensor>,
    readonly pointScaleX: number,
    readonly pointScaleY: number,
    readonly maskFrame: number,
    readonly maskHeight: number,
    readonly maskWidth: number,
  ) {}
}

/** A float input as the graph declares it: float32, or float16 converted here. */
function floatTensor(graph: GraphInfo, name: string, data: Float32Array, dims: number[]): ort.Tensor {
  return graph.inputs.get(name)?.type === 'float16' ? new ort.Tensor('float16', toFloat16(data), dims) : new ort.Tensor('float32', data, dims);
}

/** An encoder output in the float type the decoder input wants. */
function retype(graph: GraphInfo, name: string, t: ort.Tensor): ort.Tensor {
  const wanted = graph.inputs.get(name)?.type ?? t.type;
  return wanted === t.type ? t : floatTensor(graph, name, floatData(t), [...t.dims]);
}

/** A float output's values as float32. */
function floatData(t: ort.Tensor): Float32Array {
  if (t.type === 'float16') return fromFloat16(t.data as Uint16Array);
  return t.data as Float32Array;
}

/**
 * A promptable segmentation model as an ONNX encoder/decoder pair of one of
 * the supported families (see families.ts), checked when loaded.
 */
export class SamOnnxModel implements PromptModel {
  private zeroMasks = new Float32Array(0);

  private constructor(
    private readonly encoder: ort.InferenceSession,
    private decoderSessions: DecoderSessions,
    private readonly files: ModelFiles,
    readonly plan: FamilyPlan,
    private readonly config: ModelConfig,
    private readonly encoderGraph: GraphInfo,
    private readonly decoderGraph: GraphInfo,
    private readonly maxPromptsPerCall: number,
  ) {}

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

  /** Side of the square the encoder sees. */
  get inputSize(): number {
    return this.plan.encoder.size;
  }

  get lowResSize(): number {
    return this.plan.decoder.lowResSize;
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
    const encoder = await openSession(files.encoder, sessionOptions(options));
    const maxPerCall = options.promptsPerCall ?? DEFAULT_PROMPTS_PER_CALL;
    try {
      const encoderGraph = graphInfo(encoder, files.encoder);
      const decoder = await openDecoder(
        files.decoder,
        (graph) => planFamily(encoderGraph, graph, config.inputSize, config.family),
        // A split decoder is always sent the same number of prompts (see decode), so every call has the same shapes.
        (plan) => ({ cropConstant: cropConstantInputs(plan), callShapesFixed: true }),
        options.decoderGraph ?? 'staged',
        sessionOptions(options, options.profileDecoderTo),
      );
      const model = new SamOnnxModel(encoder, decoder, files, decoder.plan, config, encoderGraph, decoder.graph, maxPerCall);
      // A split that rests only on its construction (the same nodes on the same values) needs no check.
      if (decoder.crop?.needsCheck) {
        const whole = await decoder.openWhole();
        if (await model.splitReproducesWhole(whole).catch(() => false)) {
          await whole.release();
        } else {
          await model.releaseDecoderParts();
          model.decoderSessions = { prompt: whole, graph: decoder.graph, plan: decoder.plan, openWhole: decoder.openWhole,
            notSplit: 'its parts did not reproduce the whole graph\'s output bit for bit' };
        }
      }
      if (model.decoderSessions.notSplit) options.onNotice?.(`${files.decoder}: the decoder runs as one graph on every call: ${model.decoderSessions.notSplit}`);
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
    const e = this.plan.encoder;
    const S = e.size;
    let feed: ort.Tensor;
    const f32 = (data: Float32Array, dims: number[]) => floatTensor(this.encoderGraph, e.input, data, dims);
    if (e.resize === 'native') {
      feed = f32(normalizeAndPad(crop, 0, [0, 0, 0], [1, 1, 1], 1 / 255, crop.height, crop.width), [1, 3, crop.height, crop.width]);
    } else if (e.resize === 'stretch') {
      const resized = pilBilinearResize(crop, S, S);
      const [mean, std, scale] = e.normalize === 'imagenet' ? [IMAGENET_MEAN, IMAGENET_STD, 1 / 255] : [this.config.pixelMean, this.config.pixelStd, 1];
      feed = f32(normalizeAndPad(resized, S, mean, std, scale), [1, 3, S, S]);
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

  /** A crop's embedding tensors in its frame: where its points go and which part of the logits it covers. */
  private embeddingOf(tensors: Record<string, ort.Tensor>, w: number, h: number): OnnxEmbedding {
    const d = this.plan.decoder;
    if (d.frame === 'letterbox') {
      const [fh, fw] = preprocessShape(h, w, d.frameSize);
      return new OnnxEmbedding(tensors, fw / w, fh / h, d.frameSize, fh, fw);
    }
    const L = d.lowResSize;
    return new OnnxEmbedding(tensors, d.frameSize / w, d.frameSize / h, L, L, L);
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
   * Whether the split decoder gives, bit for bit, what the whole graph gives
   * on a made-up embedding and two calls: the split's analysis is checked on
   * the user's own graph before any image is segmented with it.
   */
  private async splitReproducesWhole(whole: ort.InferenceSession): Promise<boolean> {
    const d = this.plan.decoder;
    let seed = 12345;
    const tensors: Record<string, ort.Tensor> = {};
    for (const name of embeddingInputs(this.plan)) {
      const dims = [...(this.decoderGraph.inputs.get(name)?.shape ?? [])].map((v) => fixedDim(v) ?? 1);
      const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
      for (let i = 0; i < data.length; i++) {
        // xorshift32: cheap, deterministic, values in [-0.5, 0.5).
        seed ^= seed << 13;
        seed ^= seed >>> 17;
        seed ^= seed << 5;
        data[i] = (seed >>> 0) / 4294967296 - 0.5;
      }
      tensors[name] = floatTensor(this.decoderGraph, name, data, dims);
    }
    const embedding = await this.withCropPart(this.embeddingOf({ ...tensors }, 1024, 768));
    const reference = this.embeddingOf(tensors, 1024, 768);
    const n = this.promptsSentPerCall;
    for (const [x, y] of [[300, 200], [700, 450]]) {
      const points = Float32Array.from({ length: 2 * n }, (_, k) => (k % 2 === 0 ? x + 9 * k : y + 7 * k));
      const split = await this.runPrompts(embedding, points, n);
      const expected = await whole.run(this.feeds(reference, points, n), [d.lowResOutput, d.iouOutput]);
      for (const name of [d.lowResOutput, d.iouOutput]) {
        const [a, b] = [split[name], expected[name]];
        if (!a || !b || a.dims.join() !== b.dims.join()) return false;
        const bytes = (t: ort.Tensor) => Buffer.from((t.data as Float32Array).buffer, (t.data as Float32Array).byteOffset, (t.data as Float32Array).byteLength);
        if (!bytes(a).equals(bytes(b))) return false;
      }
    }
    return true;
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
    const d = this.plan.decoder;
    const L = d.lowResSize;
    const f32 = (name: string, data: Float32Array, dims: number[]) => floatTensor(this.decoderGraph, name, data, dims);
    const perPrompt = d.paddingPoint ? 2 : 1;
    const coords = new Float32Array(n * perPrompt * 2);
    const labels = new Float32Array(n * perPrompt);
    for (let k = 0; k < n; k++) {
      // With padding, each prompt is its point plus the "not a point" SamPredictor adds: (0, 0), label -1.
      coords[2 * perPrompt * k] = points[2 * k];
      coords[2 * perPrompt * k + 1] = points[2 * k + 1];
      labels[perPrompt * k] = 1;
      if (d.paddingPoint) labels[perPrompt * k + 1] = -1;
    }
    const maskInputs = () => {
      if (this.zeroMasks.length < n * L * L) this.zeroMasks = new Float32Array(n * L * L);
      return {
        mask_input: f32('mask_input', this.zeroMasks.subarray(0, n * L * L), [n, 1, L, L]),
        has_mask_input: f32('has_mask_input', new Float32Array(n), [n]),
      };
    };
    const t = embedding.tensors;
    switch (d.feeds) {
      case 'sam': {
        // A small orig_im_size keeps the graph's own full-size `masks` output cheap; AMG upscales low_res_masks itself.
        const [smallH, smallW] = preprocessShape(embedding.maskHeight, embedding.maskWidth, L);
        return {
          image_embeddings: t.image_embeddings,
          point_coords: f32('point_coords', coords, [n, perPrompt, 2]),
          point_labels: f32('point_labels', labels, [n, perPrompt]),
          ...maskInputs(),
          orig_im_size: f32('orig_im_size', Float32Array.from([smallH, smallW]), [2]),
        };
      }
      case 'edgesam':
      case 'efficientvit-sam':
        return { image_embeddings: t.image_embeddings, point_coords: f32('point_coords', coords, [n, perPrompt, 2]), point_labels: f32('point_labels', labels, [n, perPrompt]) };
      case 'sam2':
        return { ...t, point_coords: f32('point_coords', coords, [n, perPrompt, 2]), point_labels: f32('point_labels', labels, [n, perPrompt]), ...maskInputs() };
      case 'efficientsam':
        return {
          image_embeddings: t.image_embeddings,
          batched_point_coords: f32('batched_point_coords', coords, [1, n, perPrompt, 2]),
          batched_point_labels: f32('batched_point_labels', labels, [1, n, perPrompt]),
          orig_im_size: new ort.Tensor('int64', BigInt64Array.from([BigInt(d.frameSize), BigInt(d.frameSize)]), [2]),
        };
    }
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
  }
}

/**
 * The decoder inputs that stay the same for every prompt of a crop: the
 * embeddings, the image size, and the mask prompt AMG never gives (zeros,
 * has_mask_input 0; with the prompt axis of a call, which a split decoder
 * always sends full).
 */
function cropConstantInputs(plan: FamilyPlan): Set<string> {
  return new Set<string>([...embeddingInputs(plan), 'orig_im_size', 'mask_input', 'has_mask_input']);
}

/** The decoder inputs the encoder's outputs feed. */
function embeddingInputs(plan: FamilyPlan): string[] {
  return plan.encoder.outputs.map((o, i) => (i === 0 && plan.encoder.renameFirst ? plan.encoder.renameFirst : o));
}

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
