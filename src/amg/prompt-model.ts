import type { RgbImage } from '../image/rgb-image.js';
import type { AmgReference } from '../settings/settings.js';
import type { BoxXyxy } from './geometry.js';
import type { UpscaleGeometry } from './upscale.js';

/**
 * How a crop maps into a model's decoder: prompt points are scaled by
 * (pointScaleX, pointScaleY) from crop pixels; the low-resolution logits
 * cover a `maskFrame` square whose top-left `maskHeight × maskWidth` is the
 * crop. SAM: scale newW / w, frame 1024, the crop resized to its longest side
 * 1024. Models whose logits cover the crop itself use frame = logit size =
 * height = width, so the logits are resized once, straight to the crop.
 */
export interface CropEmbedding {
  readonly pointScaleX: number;
  readonly pointScaleY: number;
  readonly maskFrame: number;
  readonly maskHeight: number;
  readonly maskWidth: number;
}

export interface DecodedPrompts {
  /** 3 multimask logit planes per prompt, each lowResSize². */
  lowRes: Float32Array;
  /** 3 predicted IoUs per prompt. */
  iouPreds: Float32Array;
}

export interface DecodeOptions {
  /**
   * The masks of a prompt are needed only when one of its three predicted
   * IoUs is above this (AMG's pred_iou_thresh): a model may leave the other
   * prompts' logits at zero, since the filter drops them unread.
   */
  iouFloor?: number;
}

/** Where a batch of candidates sits, for a model that filters them itself. */
export interface FilterFrame {
  geometry: UpscaleGeometry;
  /** XYXY crop box in the image. */
  cropBox: BoxXyxy;
  imageW: number;
  imageH: number;
}

/** The filters a model runs on candidates, loosened so that none that might pass is dropped. */
export interface CandidateFilters {
  /** 0: off. */
  predIouThresh: number;
  /** 0: off. */
  stabilityScoreThresh: number;
  stabilityScoreOffset: number;
  maskThreshold: number;
  /** Kept when the stability counts would pass with this many pixels moved towards passing. */
  slackPixels: number;
  /** Dropped as near the crop's edge only when a box side is within `cropTolerance` of it and more than `imageTolerance` from the image's. */
  cropTolerance: number;
  imageTolerance: number;
}

/** The candidates kept, in ascending order, with crop-frame boxes and the stability counts. */
export interface FilteredCandidates {
  kept: Int32Array;
  /** Inclusive XYXY, 4 per kept candidate. */
  boxes: Int32Array;
  /** Pixels above the mask threshold plus, and minus, the stability offset. */
  intersections: Float32Array;
  unions: Float32Array;
}

/**
 * What AMG needs from a promptable segmentation model; the ONNX code in
 * `src/model` provides it for each supported family, tests may provide their own.
 */
export interface PromptModel {
  /** Side of the low-resolution mask logits. */
  readonly lowResSize: number;
  /** Whose generator its masks follow (default 'sam'): SAM 2 models follow `SAM2AutomaticMaskGenerator`. */
  readonly amgReference?: AmgReference;
  /**
   * Why this model cannot embed a crop of `width` × `height` pixels, as a
   * phrase that completes "… pixels are" (e.g. "too thin: …"); undefined
   * when it can. Asked for every crop of an image before any is encoded, so
   * an image is refused whole rather than failing halfway; crops with no
   * pixels are refused before it is asked. Not given: any crop of at least
   * 1 × 1 pixels embeds.
   */
  cropSizeProblem?(width: number, height: number): string | undefined;
  embed(crop: RgbImage): Promise<CropEmbedding>;
  /**
   * Runs the reference's batch filters where the model runs (the filter
   * graph): predicted IoU, stability, crop edge, on `count` candidates'
   * low-resolution logits. Given only when the model was asked to; the
   * generator then upscales and encodes only the masks that also survive NMS.
   */
  filterCandidates?(lowRes: Float32Array, iouPreds: Float32Array, count: number, frame: FilterFrame, filters: CandidateFilters): Promise<FilteredCandidates>;
  /** Decodes `count` single-point prompts given as (x, y) already scaled by the embedding's point scale. */
  decode(embedding: CropEmbedding, points: Float32Array, count: number, options?: DecodeOptions): Promise<DecodedPrompts>;
}
