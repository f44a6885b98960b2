import { GraphBuilder, ONNX_INT64, type Dim } from './onnx-graph.js';

/**
 * A tiny, deterministic SAM look-alike with the exact I/O contract of the
 * official decoder export and an NCHW encoder, whose masks mean something:
 *
 * - the encoder averages 4×4 pixel blocks of the normalised 1024² input and
 *   folds each 4×4 group of blocks into the channels of one 64×64 embedding
 *   cell, so the embedding holds the image's colours at 256² resolution;
 * - the decoder unfolds them, takes the colour under the first prompt point
 *   and returns, per mask token, logits that fall with colour distance:
 *   token 1 tight, 2 medium, 3 loose tolerance (token 0 = medium), so the
 *   three multimask outputs are nested regions of similar colour;
 * - the predicted IoU falls as the mask covers more varied colour, so a
 *   flat region scores high and a mixed one low.
 */
export const TINY_INPUT_SIZE = 1024;
const LOW_RES = 256;
const EMBED = 64;
const BLOCK = 4;
const CHANNELS = 256;
const COLOUR_CHANNELS = 3 * BLOCK * BLOCK;
const OPSET = 17;

/** Squared distance in normalised colour units below which a pixel belongs to the mask, per token. */
const TOLERANCE = [0.5, 0.15, 0.5, 1.5];
/** Logit at zero distance. */
const PEAK_LOGIT = 8;
/**
 * IoU of a perfectly flat region per token. The loose token ranks first
 * there, since its edge sits near half coverage of a boundary cell; mixed
 * colours inside a mask lower its score (see IOU_FALLOFF), so on varied
 * regions the tighter tokens win.
 */
const IOU_BASE = [0.92, 0.93, 0.95, 0.97];
const IOU_FALLOFF = 1.0;

export function buildTinyEncoder(): Uint8Array {
  const g = new GraphBuilder();
  const image = g.input('input_image', 'float', [1, 3, TINY_INPUT_SIZE, TINY_INPUT_SIZE]);
  const pooled = g.op('AveragePool', [image], { kernel_shape: [BLOCK, BLOCK], strides: [BLOCK, BLOCK] });
  const folded = g.op('SpaceToDepth', [pooled], { blocksize: BLOCK });
  const pads = g.constant('int64', [8], [0, 0, 0, 0, 0, CHANNELS - COLOUR_CHANNELS, 0, 0]);
  g.op('Pad', [folded, pads], { mode: 'constant' }, 'image_embeddings');
  g.output('image_embeddings', 'float', [1, CHANNELS, EMBED, EMBED]);
  return g.serialize('tiny_sam_encoder', OPSET);
}

export interface TinyDecoderOptions {
  /** Dynamic prompt axis (independent prompts per call) instead of the official fixed 1. */
  batched?: boolean;
  /** Only token 0, like an export with --return-single-mask (which AMG cannot use). */
  singleMask?: boolean;
}

export function buildTinyDecoder({ batched = false, singleMask = false }: TinyDecoderOptions = {}): Uint8Array {
  const g = new GraphBuilder();
  const B: Dim = batched ? 'num_prompts' : 1;
  const emb = g.input('image_embeddings', 'float', [1, CHANNELS, EMBED, EMBED]);
  const coords = g.input('point_coords', 'float', [B, 'num_points', 2]);
  g.input('point_labels', 'float', [B, 'num_points']);
  const maskInput = g.input('mask_input', 'float', [B, 1, LOW_RES, LOW_RES]);
  const hasMask = g.input('has_mask_input', 'float', [B]);
  const origSize = g.input('orig_im_size', 'float', [2]);

  const i64 = (values: number[]) => g.constant('int64', [values.length], values);
  const f32 = (dims: number[], values: number[]) => g.constant('float', dims, values);

  // Colour map at low resolution, [1,3,256,256], and flattened to [3, 256²].
  const colourFolded = g.op('Slice', [emb, i64([0]), i64([COLOUR_CHANNELS]), i64([1])]);
  const colour = g.op('DepthToSpace', [colourFolded], { blocksize: BLOCK, mode: 'DCR' });
  const flat = g.op('Reshape', [colour, i64([3, LOW_RES * LOW_RES])]);

  // Low-res cell under each prompt's first point (coordinates in the 1024 frame).
  const first = g.op('Reshape', [g.op('Slice', [coords, i64([0]), i64([1]), i64([1])]), i64([-1, 2])]);
  const cellF = g.op('Clip', [
    g.op('Floor', [g.op('Div', [first, f32([], [TINY_INPUT_SIZE / LOW_RES])])]),
    f32([], [0]),
    f32([], [LOW_RES - 1]),
  ]);
  const cell = g.op('Cast', [cellF], { to: ONNX_INT64 });
  const ix = g.op('Gather', [cell, g.constant('int64', [], [0])], { axis: 1 });
  const iy = g.op('Gather', [cell, g.constant('int64', [], [1])], { axis: 1 });
  const index = g.op('Add', [g.op('Mul', [iy, g.constant('int64', [], [LOW_RES])]), ix]);
  const promptColour = g.op('Reshape', [
    g.op('Transpose', [g.op('Gather', [flat, index], { axis: 1 })], { perm: [1, 0] }),
    i64([-1, 3, 1, 1]),
  ]);

  // Squared colour distance to the prompt's colour, [B,1,256,256].
  const diff = g.op('Sub', [colour, promptColour]);
  const dist = g.op('ReduceSum', [g.op('Mul', [diff, diff]), i64([1])], { keepdims: 1 });

  // Per-token logits, plus the mask prompt when one is given.
  const tolerance = f32([1, 4, 1, 1], TOLERANCE);
  const gain = f32([1, 4, 1, 1], TOLERANCE.map((t) => PEAK_LOGIT / t));
  const logits = g.op('Mul', [g.op('Sub', [tolerance, dist]), gain]);
  const prior = g.op('Mul', [g.op('Reshape', [hasMask, i64([-1, 1, 1, 1])]), maskInput]);
  const allTokens = g.op('Add', [logits, prior]);
  const lowRes = singleMask
    ? g.op('Slice', [allTokens, i64([0]), i64([1]), i64([1])], {}, 'low_res_masks')
    : g.op('Identity', [allTokens], {}, 'low_res_masks');
  const tokens = singleMask ? 1 : 4;

  // Predicted IoU: falls with the mean colour distance inside the (soft) mask.
  const weight = g.op('Sigmoid', [lowRes]);
  const spread = g.op('Div', [
    g.op('ReduceSum', [g.op('Mul', [weight, dist]), i64([2, 3])], { keepdims: 0 }),
    g.op('Add', [g.op('ReduceSum', [weight, i64([2, 3])], { keepdims: 0 }), f32([], [1])]),
  ]);
  g.op('Mul', [
    f32([1, tokens], IOU_BASE.slice(0, tokens)),
    g.op('Exp', [g.op('Neg', [g.op('Div', [spread, f32([], [IOU_FALLOFF])])])]),
  ], {}, 'iou_predictions');

  // Full-size logits at orig_im_size, bilinear with half-pixel centres.
  const sizes = g.op('Concat', [
    g.op('Slice', [g.op('Shape', [lowRes]), i64([0]), i64([2])]),
    g.op('Cast', [origSize], { to: ONNX_INT64 }),
  ], { axis: 0 });
  g.op('Resize', [lowRes, '', '', sizes], { mode: 'linear', coordinate_transformation_mode: 'half_pixel' }, 'masks');

  g.output('masks', 'float', [B, tokens, 'height', 'width']);
  g.output('iou_predictions', 'float', [B, tokens]);
  g.output('low_res_masks', 'float', [B, tokens, LOW_RES, LOW_RES]);
  return g.serialize(batched ? 'tiny_sam_decoder_batched' : 'tiny_sam_decoder', OPSET);
}
