import { GraphBuilder, ONNX_INT64, type Dim } from '../../src/graph/graph-builder.js';

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
 *
 * The helpers below are shared with the other families' tiny models.
 */
export const TINY_INPUT_SIZE = 1024;
export const LOW_RES = 256;
export const EMBED = 64;
const BLOCK = 4;
export const CHANNELS = 256;
const COLOUR_CHANNELS = 3 * BLOCK * BLOCK;
export const OPSET = 17;

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

export const i64 = (g: GraphBuilder, values: number[]) => g.constant('int64', [values.length], values);
export const f32 = (g: GraphBuilder, dims: number[], values: number[]) => g.constant('float', dims, values);

/**
 * Normalised NCHW image whose side is 256 · `pool` → [B,256,64,64] embedding:
 * average pool `pool`², fold 4×4 cells into channels, zero-pad the channels.
 */
export function colourEmbedding(g: GraphBuilder, image: string, pool: number, output: string): string {
  const pooled = pool === 1 ? image : g.op('AveragePool', [image], { kernel_shape: [pool, pool], strides: [pool, pool] });
  const folded = g.op('SpaceToDepth', [pooled], { blocksize: BLOCK });
  return g.op('Pad', [folded, g.constant('int64', [8], [0, 0, 0, 0, 0, CHANNELS - COLOUR_CHANNELS, 0, 0])], { mode: 'constant' }, output);
}

/**
 * The decoder's heart: the colour map from the embedding, the colour under
 * each prompt point (x, y in the 1024 frame, [B,2]), the squared distance to
 * it and 4 tokens of logits, [B,4,256,256].
 */
export function colourLogits(g: GraphBuilder, emb: string, xy: string): { dist: string; logits: string } {
  const colourFolded = g.op('Slice', [emb, i64(g, [0]), i64(g, [COLOUR_CHANNELS]), i64(g, [1])]);
  const colour = g.op('DepthToSpace', [colourFolded], { blocksize: BLOCK, mode: 'DCR' });
  const flat = g.op('Reshape', [colour, i64(g, [3, LOW_RES * LOW_RES])]);
  const cellF = g.op('Clip', [
    g.op('Floor', [g.op('Div', [xy, f32(g, [], [TINY_INPUT_SIZE / LOW_RES])])]),
    f32(g, [], [0]),
    f32(g, [], [LOW_RES - 1]),
  ]);
  const cell = g.op('Cast', [cellF], { to: ONNX_INT64 });
  const ix = g.op('Gather', [cell, g.constant('int64', [], [0])], { axis: 1 });
  const iy = g.op('Gather', [cell, g.constant('int64', [], [1])], { axis: 1 });
  const index = g.op('Add', [g.op('Mul', [iy, g.constant('int64', [], [LOW_RES])]), ix]);
  const promptColour = g.op('Reshape', [
    g.op('Transpose', [g.op('Gather', [flat, index], { axis: 1 })], { perm: [1, 0] }),
    i64(g, [-1, 3, 1, 1]),
  ]);
  const diff = g.op('Sub', [colour, promptColour]);
  const dist = g.op('ReduceSum', [g.op('Mul', [diff, diff]), i64(g, [1])], { keepdims: 1 });
  const tolerance = f32(g, [1, 4, 1, 1], TOLERANCE);
  const gain = f32(g, [1, 4, 1, 1], TOLERANCE.map((t) => PEAK_LOGIT / t));
  return { dist, logits: g.op('Mul', [g.op('Sub', [tolerance, dist]), gain]) };
}

/** The first point of each prompt, [B,N,2] → [B,2]. */
export function firstPoint(g: GraphBuilder, coords: string): string {
  return g.op('Reshape', [g.op('Slice', [coords, i64(g, [0]), i64(g, [1]), i64(g, [1])]), i64(g, [-1, 2])]);
}

/** Adds a mask prompt (has_mask · mask_input) to the logits, as SAM's dense prompt would. */
export function withMaskPrompt(g: GraphBuilder, logits: string, maskInput: string, hasMask: string): string {
  const prior = g.op('Mul', [g.op('Reshape', [hasMask, i64(g, [-1, 1, 1, 1])]), maskInput]);
  return g.op('Add', [logits, prior]);
}

/** Keeps tokens [from, from + count) of [B,4,...] logits under `name`. */
export function tokens(g: GraphBuilder, logits: string, from: number, count: number, name: string): string {
  if (from === 0 && count === 4) return g.op('Identity', [logits], {}, name);
  return g.op('Slice', [logits, i64(g, [from]), i64(g, [from + count]), i64(g, [1])], {}, name);
}

/** Predicted IoU of each kept token: falls with the mean colour distance inside the (soft) mask. */
export function iouHead(g: GraphBuilder, lowRes: string, dist: string, from: number, count: number, name: string): string {
  const weight = g.op('Sigmoid', [lowRes]);
  const spread = g.op('Div', [
    g.op('ReduceSum', [g.op('Mul', [weight, dist]), i64(g, [2, 3])], { keepdims: 0 }),
    g.op('Add', [g.op('ReduceSum', [weight, i64(g, [2, 3])], { keepdims: 0 }), f32(g, [], [1])]),
  ]);
  return g.op('Mul', [
    f32(g, [1, count], IOU_BASE.slice(from, from + count)),
    g.op('Exp', [g.op('Neg', [g.op('Div', [spread, f32(g, [], [IOU_FALLOFF])])])]),
  ], {}, name);
}

/** Bilinear resize of [B,M,256,256] logits to the int64 (H, W) in `sizeHw`. */
export function resizeTo(g: GraphBuilder, lowRes: string, sizeHw: string, name: string): string {
  const sizes = g.op('Concat', [g.op('Slice', [g.op('Shape', [lowRes]), i64(g, [0]), i64(g, [2])]), sizeHw], { axis: 0 });
  return g.op('Resize', [lowRes, '', '', sizes], { mode: 'linear', coordinate_transformation_mode: 'half_pixel' }, name);
}

export function buildTinyEncoder(): Uint8Array {
  const g = new GraphBuilder();
  const image = g.input('input_image', 'float', [1, 3, TINY_INPUT_SIZE, TINY_INPUT_SIZE]);
  colourEmbedding(g, image, BLOCK, 'image_embeddings');
  g.output('image_embeddings', 'float', [1, CHANNELS, EMBED, EMBED]);
  return g.serialize('tiny_sam_encoder', OPSET);
}

export interface TinyDecoderOptions {
  /** Dynamic prompt axis (independent prompts per call) instead of the official fixed 1. */
  batched?: boolean;
  /** Only token 0, like an export with --return-single-mask (which AMG cannot use). */
  singleMask?: boolean;
}

/** The official SAM decoder export's contract. */
export function buildTinyDecoder({ batched = false, singleMask = false }: TinyDecoderOptions = {}): Uint8Array {
  const g = new GraphBuilder();
  const B: Dim = batched ? 'num_prompts' : 1;
  const emb = g.input('image_embeddings', 'float', [1, CHANNELS, EMBED, EMBED]);
  const coords = g.input('point_coords', 'float', [B, 'num_points', 2]);
  g.input('point_labels', 'float', [B, 'num_points']);
  const maskInput = g.input('mask_input', 'float', [B, 1, LOW_RES, LOW_RES]);
  const hasMask = g.input('has_mask_input', 'float', [B]);
  const origSize = g.input('orig_im_size', 'float', [2]);
  const { dist, logits } = colourLogits(g, emb, firstPoint(g, coords));
  const count = singleMask ? 1 : 4;
  const lowRes = tokens(g, withMaskPrompt(g, logits, maskInput, hasMask), 0, count, 'low_res_masks');
  iouHead(g, lowRes, dist, 0, count, 'iou_predictions');
  resizeTo(g, lowRes, g.op('Cast', [origSize], { to: ONNX_INT64 }), 'masks');
  g.output('masks', 'float', [B, count, 'height', 'width']);
  g.output('iou_predictions', 'float', [B, count]);
  g.output('low_res_masks', 'float', [B, count, LOW_RES, LOW_RES]);
  return g.serialize(batched ? 'tiny_sam_decoder_batched' : 'tiny_sam_decoder', OPSET);
}
