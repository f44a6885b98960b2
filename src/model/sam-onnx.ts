import { access } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { CropEmbedding, DecodedPrompts, PromptModel } from '../amg/prompt-model.js';
import { preprocessShape } from '../amg/geometry.js';
import { pilBilinearResize } from '../image/pil-resize.js';
import type { RgbImage } from '../image/rgb-image.js';
import { DEFAULT_MODEL_CONFIG, readModelConfig, type ModelConfig } from './model-config.js';
import { ModelError } from './model-error.js';
import { normalizeAndPad, toHwcFloat } from './preprocess.js';

export interface ModelFiles {
  encoder: string;
  decoder: string;
  /** Optional model.json. */
  config?: string;
}

export interface RuntimeOptions {
  /** onnxruntime intra-op threads per session (default: onnxruntime's choice). */
  threads?: number;
}

/** Input name → rank of the official SAM decoder export. */
const DECODER_INPUT_RANKS: Readonly<Record<string, number>> = {
  image_embeddings: 4,
  point_coords: 3,
  point_labels: 2,
  mask_input: 4,
  has_mask_input: 1,
  orig_im_size: 1,
};
const DECODER_OUTPUTS = ['iou_predictions', 'low_res_masks'];
/** Mask tokens of the official decoder: token 0 single-mask, 1..3 multimask. */
const MASK_TOKENS = 4;

type TensorMeta = ort.InferenceSession.TensorValueMetadata;

function shapeText(shape: readonly (number | string)[]): string {
  return `[${shape.join(',')}]`;
}

function fixed(d: number | string | undefined): number | undefined {
  return typeof d === 'number' && d > 0 ? d : undefined;
}

function tensorMeta(session: ort.InferenceSession, name: string, kind: 'input' | 'output', file: string): TensorMeta {
  const names = kind === 'input' ? session.inputNames : session.outputNames;
  const metas = kind === 'input' ? session.inputMetadata : session.outputMetadata;
  const meta = metas[names.indexOf(name)];
  if (!meta?.isTensor) throw new ModelError(`${file}: ${kind} ${name} is not a tensor`);
  return meta;
}

function describeGraph(session: ort.InferenceSession): string {
  return `it has inputs (${session.inputNames.join(', ')}) and outputs (${session.outputNames.join(', ')})`;
}

async function openSession(file: string, options: RuntimeOptions): Promise<ort.InferenceSession> {
  try {
    await access(file);
  } catch {
    throw new ModelError(`${file}: model file not found`);
  }
  try {
    return await ort.InferenceSession.create(file, {
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      interOpNumThreads: 1,
      ...(options.threads ? { intraOpNumThreads: options.threads } : {}),
    });
  } catch (err) {
    const first = String((err as Error).message).split('\n')[0];
    throw new ModelError(`${file}: not a loadable ONNX model (${first})`);
  }
}

type EncoderLayout = 'nchw' | 'hwc';

/** An embedding as the decoder takes it, plus the crop's resized size. */
class OnnxEmbedding implements CropEmbedding {
  constructor(readonly tensor: ort.Tensor, readonly resizedH: number, readonly resizedW: number) {}
}

/**
 * A SAM encoder/decoder pair in the official decoder export's contract, with
 * an NCHW encoder (normalised outside the graph) or an HWC encoder that
 * normalises and pads inside (samexporter's `--use-preprocess`).
 */
export class SamOnnxModel implements PromptModel {
  private zeroMasks = new Float32Array(0);

  private constructor(
    private readonly encoder: ort.InferenceSession,
    private readonly decoder: ort.InferenceSession,
    private readonly files: ModelFiles,
    private readonly layout: EncoderLayout,
    private readonly embeddingOutput: string,
    readonly inputSize: number,
    readonly lowResSize: number,
    /** Prompts the decoder takes in one call: 1, or Infinity when its prompt axis is dynamic. */
    readonly promptsPerCall: number,
    private readonly config: ModelConfig,
  ) {}

  static async load(files: ModelFiles, options: RuntimeOptions = {}): Promise<SamOnnxModel> {
    const config = files.config ? await readModelConfig(files.config) : DEFAULT_MODEL_CONFIG;
    const encoder = await openSession(files.encoder, options);
    const decoder = await openSession(files.decoder, options);
    try {
      return SamOnnxModel.check(encoder, decoder, files, config);
    } catch (err) {
      await encoder.release();
      await decoder.release();
      throw err;
    }
  }

  /** Loads `encoder.onnx`, `decoder.onnx` and the optional `model.json` from a folder. */
  static loadDir(dir: string, options: RuntimeOptions = {}): Promise<SamOnnxModel> {
    return SamOnnxModel.load({
      encoder: path.join(dir, 'encoder.onnx'),
      decoder: path.join(dir, 'decoder.onnx'),
      config: path.join(dir, 'model.json'),
    }, options);
  }

  private static check(
    encoder: ort.InferenceSession,
    decoder: ort.InferenceSession,
    files: ModelFiles,
    config: ModelConfig,
  ): SamOnnxModel {
    const enc = files.encoder;
    const dec = files.decoder;
    if (encoder.inputNames.length !== 1) {
      throw new ModelError(`${enc}: an image encoder takes one input, but ${describeGraph(encoder)}`);
    }
    const input = tensorMeta(encoder, encoder.inputNames[0], 'input', enc);
    if (input.type !== 'float32') {
      throw new ModelError(`${enc}: input ${encoder.inputNames[0]} is ${input.type}, expected float32`);
    }
    let layout: EncoderLayout;
    let inputSize: number | undefined;
    if (input.shape.length === 4 && (fixed(input.shape[1]) ?? 3) === 3) {
      layout = 'nchw';
      const h = fixed(input.shape[2]);
      const w = fixed(input.shape[3]);
      if (h !== undefined && w !== undefined && h !== w) {
        throw new ModelError(`${enc}: input ${encoder.inputNames[0]} has shape ${shapeText(input.shape)}, expected a square [1,3,S,S]`);
      }
      inputSize = h ?? w ?? config.inputSize;
      if (config.inputSize !== undefined && inputSize !== config.inputSize) {
        throw new ModelError(`${enc}: input is ${inputSize} pixels square but model.json says input_size ${config.inputSize}`);
      }
    } else if (input.shape.length === 3 && (fixed(input.shape[2]) ?? 3) === 3) {
      layout = 'hwc';
      inputSize = config.inputSize ?? 1024;
    } else {
      throw new ModelError(`${enc}: input ${encoder.inputNames[0]} has shape ${shapeText(input.shape)}, expected [1,3,S,S] or [H,W,3]`);
    }
    if (inputSize === undefined) {
      throw new ModelError(`${enc}: input size is dynamic; set input_size in model.json`);
    }
    const embeddingOutput = encoder.outputNames.includes('image_embeddings') ? 'image_embeddings' : encoder.outputNames[0];
    const embedding = tensorMeta(encoder, embeddingOutput, 'output', enc);

    for (const [name, rank] of Object.entries(DECODER_INPUT_RANKS)) {
      if (!decoder.inputNames.includes(name)) {
        throw new ModelError(`${dec}: missing input ${name} of the official SAM decoder export; ${describeGraph(decoder)}`);
      }
      const meta = tensorMeta(decoder, name, 'input', dec);
      if (meta.shape.length !== rank || meta.type !== 'float32') {
        throw new ModelError(`${dec}: input ${name} is ${meta.type} ${shapeText(meta.shape)}, expected float32 of rank ${rank}`);
      }
    }
    const extra = decoder.inputNames.filter((n) => !(n in DECODER_INPUT_RANKS));
    if (extra.length > 0) {
      throw new ModelError(`${dec}: unexpected input ${extra.join(', ')} (not the official SAM decoder export); ${describeGraph(decoder)}`);
    }
    for (const name of DECODER_OUTPUTS) {
      if (!decoder.outputNames.includes(name)) {
        throw new ModelError(`${dec}: missing output ${name} of the official SAM decoder export; ${describeGraph(decoder)}`);
      }
    }
    const lowResMeta = tensorMeta(decoder, 'low_res_masks', 'output', dec);
    checkMaskTokens(fixed(lowResMeta.shape[1]), dec);
    const embeddingsIn = tensorMeta(decoder, 'image_embeddings', 'input', dec);
    embeddingsIn.shape.forEach((d, i) => {
      const produced = fixed(embedding.shape[i]);
      if (fixed(d) !== undefined && produced !== undefined && fixed(d) !== produced) {
        throw new ModelError(`${dec}: input image_embeddings is ${shapeText(embeddingsIn.shape)} but ${enc} output ${embeddingOutput} is ${shapeText(embedding.shape)}; the two files are not a pair`);
      }
    });
    const maskInput = tensorMeta(decoder, 'mask_input', 'input', dec);
    const lowResSize = fixed(maskInput.shape[2]) ?? fixed(lowResMeta.shape[2]) ?? 256;
    const promptsPerCall = fixed(tensorMeta(decoder, 'point_coords', 'input', dec).shape[0]) === 1 ? 1 : Infinity;
    return new SamOnnxModel(encoder, decoder, files, layout, embeddingOutput, inputSize, lowResSize, promptsPerCall, config);
  }

  async embed(crop: RgbImage): Promise<CropEmbedding> {
    const [resizedH, resizedW] = preprocessShape(crop.height, crop.width, this.inputSize);
    const resized = pilBilinearResize(crop, resizedW, resizedH);
    const S = this.inputSize;
    const feed = this.layout === 'nchw'
      ? new ort.Tensor('float32', normalizeAndPad(resized, S, this.config.pixelMean, this.config.pixelStd), [1, 3, S, S])
      : new ort.Tensor('float32', toHwcFloat(resized), [resizedH, resizedW, 3]);
    const out = await this.encoder.run({ [this.encoder.inputNames[0]]: feed }, [this.embeddingOutput]);
    return new OnnxEmbedding(out[this.embeddingOutput], resizedH, resizedW);
  }

  async decode(embedding: CropEmbedding, points: Float32Array, count: number): Promise<DecodedPrompts> {
    if (!(embedding instanceof OnnxEmbedding)) throw new TypeError('embedding does not come from this model');
    const plane = this.lowResSize * this.lowResSize;
    const lowRes = new Float32Array(count * 3 * plane);
    const iouPreds = new Float32Array(count * 3);
    const perCall = Math.min(this.promptsPerCall, count);
    // A small orig_im_size keeps the graph's own full-size `masks` output cheap; AMG upscales low_res_masks itself.
    const [smallH, smallW] = preprocessShape(embedding.resizedH, embedding.resizedW, this.lowResSize);
    const origSize = new ort.Tensor('float32', Float32Array.from([smallH, smallW]), [2]);
    for (let first = 0; first < count; first += perCall) {
      const n = Math.min(perCall, count - first);
      const coords = new Float32Array(n * 4);
      const labels = new Float32Array(n * 2);
      for (let k = 0; k < n; k++) {
        // Each prompt is its point plus the "not a point" padding SamPredictor adds: (0, 0) with label -1.
        coords[4 * k] = points[2 * (first + k)];
        coords[4 * k + 1] = points[2 * (first + k) + 1];
        labels[2 * k] = 1;
        labels[2 * k + 1] = -1;
      }
      if (this.zeroMasks.length < n * plane) this.zeroMasks = new Float32Array(n * plane);
      const out = await this.decoder.run({
        image_embeddings: embedding.tensor,
        point_coords: new ort.Tensor('float32', coords, [n, 2, 2]),
        point_labels: new ort.Tensor('float32', labels, [n, 2]),
        mask_input: new ort.Tensor('float32', this.zeroMasks.subarray(0, n * plane), [n, 1, this.lowResSize, this.lowResSize]),
        has_mask_input: new ort.Tensor('float32', new Float32Array(n), [n]),
        orig_im_size: origSize,
      }, DECODER_OUTPUTS);
      const masks = out.low_res_masks;
      const ious = out.iou_predictions;
      checkMaskTokens(masks.dims[1], this.files.decoder);
      if (masks.dims[0] !== n || masks.dims[2] !== this.lowResSize || masks.dims[3] !== this.lowResSize) {
        throw new ModelError(`${this.files.decoder}: low_res_masks came out ${shapeText(masks.dims)}, expected [${n},4,${this.lowResSize},${this.lowResSize}]`);
      }
      const maskData = masks.data as Float32Array;
      const iouData = ious.data as Float32Array;
      for (let k = 0; k < n; k++) {
        const target = (first + k) * 3;
        lowRes.set(maskData.subarray((k * MASK_TOKENS + 1) * plane, (k * MASK_TOKENS + 4) * plane), target * plane);
        iouPreds.set(iouData.subarray(k * MASK_TOKENS + 1, k * MASK_TOKENS + 4), target);
      }
    }
    return { lowRes, iouPreds };
  }

  async release(): Promise<void> {
    await this.encoder.release();
    await this.decoder.release();
  }
}

function checkMaskTokens(tokens: number | undefined, file: string): void {
  if (tokens === undefined || tokens === MASK_TOKENS) return;
  if (tokens === 1) {
    throw new ModelError(`${file}: a single-mask decoder (exported with --return-single-mask) cannot serve automatic mask generation; use the multimask export of the same model (for MobileSAM: sam_mask_decoder_multi.onnx)`);
  }
  throw new ModelError(`${file}: decoder returns ${tokens} masks per prompt, expected ${MASK_TOKENS} (single-mask token plus 3 multimask tokens)`);
}
