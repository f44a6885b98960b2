import type { RgbImage } from '../image/rgb-image.js';

/** A crop's embedding, with the size the crop was resized to before encoding. */
export interface CropEmbedding {
  readonly resizedH: number;
  readonly resizedW: number;
}

export interface DecodedPrompts {
  /** 3 multimask logit planes per prompt, each lowResSize². */
  lowRes: Float32Array;
  /** 3 predicted IoUs per prompt. */
  iouPreds: Float32Array;
}

/**
 * What AMG needs from a promptable segmentation model; the ONNX code in
 * `src/model` provides it, tests may provide their own.
 */
export interface PromptModel {
  /** Encoder input side S: crops are resized so their longest side is S. */
  readonly inputSize: number;
  /** Side of the low-resolution mask logits. */
  readonly lowResSize: number;
  embed(crop: RgbImage): Promise<CropEmbedding>;
  /** Decodes `count` single-point prompts given as (x, y) in the resized frame. */
  decode(embedding: CropEmbedding, points: Float32Array, count: number): Promise<DecodedPrompts>;
}
