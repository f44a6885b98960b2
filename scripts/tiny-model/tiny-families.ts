/**
 * Tiny models in the I/O form of each supported family (names, ranks, dtypes,
 * prompt frames, preprocessing inside or outside the graph), built on the
 * same colour core as tiny-sam.ts, so AMG through each family's code path
 * finds the same flat-coloured shapes.
 */
import { GraphBuilder } from '../../src/graph/graph-builder.js';
import {
  CHANNELS, colourEmbedding, colourLogits, EMBED, f32, firstPoint, i64, iouHead, LOW_RES, OPSET, resizeTo, tokens,
  TINY_INPUT_SIZE,
} from './tiny-sam.js';

const SAM_MEAN = [123.675, 116.28, 103.53];
const SAM_STD = [58.395, 57.12, 57.375];
const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

/** samexporter's `--use-preprocess` encoder: raw HWC 0..255, longest side 1024; normalises and pads inside. */
export function buildHwcEncoder(): Uint8Array {
  const g = new GraphBuilder();
  const x = g.input('input_image', 'float', ['image_height', 'image_width', 3]);
  const norm = g.op('Div', [g.op('Sub', [x, f32(g, [1, 1, 3], SAM_MEAN)]), f32(g, [1, 1, 3], SAM_STD)]);
  const nchw = g.op('Unsqueeze', [g.op('Transpose', [norm], { perm: [2, 0, 1] }), i64(g, [0])]);
  const hw = g.op('Slice', [g.op('Shape', [nchw]), i64(g, [2]), i64(g, [4])]);
  const pads = g.op('Concat', [i64(g, [0, 0, 0, 0, 0, 0]), g.op('Sub', [i64(g, [TINY_INPUT_SIZE, TINY_INPUT_SIZE]), hw])], { axis: 0 });
  const padded = g.op('Pad', [nchw, pads], { mode: 'constant' });
  colourEmbedding(g, padded, 4, 'image_embeddings');
  g.output('image_embeddings', 'float', [1, CHANNELS, EMBED, EMBED]);
  return g.serialize('tiny_hwc_encoder', OPSET);
}

/** EdgeSAM: `image` [1,3,1024,1024], SAM preprocessing outside; decoder without mask or size inputs, 4 low-res masks. */
export function buildEdgeSam(): { encoder: Uint8Array; decoder: Uint8Array } {
  const e = new GraphBuilder();
  colourEmbedding(e, e.input('image', 'float', [1, 3, TINY_INPUT_SIZE, TINY_INPUT_SIZE]), 4, 'image_embeddings');
  e.output('image_embeddings', 'float', [1, CHANNELS, EMBED, EMBED]);
  const d = new GraphBuilder();
  const emb = d.input('image_embeddings', 'float', [1, CHANNELS, EMBED, EMBED]);
  const coords = d.input('point_coords', 'float', [1, 'num_points', 2]);
  d.input('point_labels', 'float', [1, 'num_points']);
  const { dist, logits } = colourLogits(d, emb, firstPoint(d, coords));
  const masks = tokens(d, logits, 0, 4, 'masks');
  iouHead(d, masks, dist, 0, 4, 'scores');
  d.output('scores', 'float', [1, 4]);
  d.output('masks', 'float', [1, 4, LOW_RES, LOW_RES]);
  return { encoder: e.serialize('tiny_edgesam_encoder', OPSET), decoder: d.serialize('tiny_edgesam_decoder', OPSET) };
}

/** EfficientViT-SAM L-series: a 512 encoder, prompts and low-res masks in the 1024 frame, prompt batch dynamic. */
export function buildEfficientVitSam(): { encoder: Uint8Array; decoder: Uint8Array } {
  const e = new GraphBuilder();
  colourEmbedding(e, e.input('input_image', 'float', ['batch', 3, 512, 512]), 2, 'image_embeddings');
  e.output('image_embeddings', 'float', ['batch', CHANNELS, EMBED, EMBED]);
  const d = new GraphBuilder();
  const emb = d.input('image_embeddings', 'float', [1, CHANNELS, EMBED, EMBED]);
  const coords = d.input('point_coords', 'float', ['batch', 'num_points', 2]);
  d.input('point_labels', 'float', ['batch', 'num_points']);
  const { dist, logits } = colourLogits(d, emb, firstPoint(d, coords));
  const masks = tokens(d, logits, 0, 4, 'masks');
  iouHead(d, masks, dist, 0, 4, 'iou_predictions');
  d.output('masks', 'float', ['batch', 4, LOW_RES, LOW_RES]);
  d.output('iou_predictions', 'float', ['batch', 4]);
  return { encoder: e.serialize('tiny_efficientvit_encoder', OPSET), decoder: d.serialize('tiny_efficientvit_decoder', OPSET) };
}

/**
 * SAM 2 in samexporter form: stretched 1024² ImageNet input, three feature
 * maps, 3 multimask outputs clamped to ±32, has_mask_input unreshaped.
 */
export function buildSam2(): { encoder: Uint8Array; decoder: Uint8Array } {
  const e = new GraphBuilder();
  const image = e.input('image', 'float', [1, 3, TINY_INPUT_SIZE, TINY_INPUT_SIZE]);
  const feats = (pool: number, channels: number, name: string) => e.op('Pad', [
    e.op('AveragePool', [image], { kernel_shape: [pool, pool], strides: [pool, pool] }),
    e.constant('int64', [8], [0, 0, 0, 0, 0, channels - 3, 0, 0]),
  ], { mode: 'constant' }, name);
  feats(4, 32, 'high_res_feats_0');
  feats(8, 64, 'high_res_feats_1');
  colourEmbedding(e, image, 4, 'image_embed');
  e.output('high_res_feats_0', 'float', [1, 32, 256, 256]);
  e.output('high_res_feats_1', 'float', [1, 64, 128, 128]);
  e.output('image_embed', 'float', [1, CHANNELS, EMBED, EMBED]);
  const d = new GraphBuilder();
  const emb = d.input('image_embed', 'float', [1, CHANNELS, EMBED, EMBED]);
  d.input('high_res_feats_0', 'float', [1, 32, 256, 256]);
  d.input('high_res_feats_1', 'float', [1, 64, 128, 128]);
  const coords = d.input('point_coords', 'float', ['num_labels', 'num_points', 2]);
  d.input('point_labels', 'float', ['num_labels', 'num_points']);
  const maskInput = d.input('mask_input', 'float', ['num_labels', 1, LOW_RES, LOW_RES]);
  const hasMask = d.input('has_mask_input', 'float', ['num_labels']);
  const { dist, logits } = colourLogits(d, emb, firstPoint(d, coords));
  // samexporter's two quirks: has_mask_input [n] multiplies the masks unreshaped (it broadcasts on the
  // width axis, so only n = 1 runs), and the mask output is clamped to ±32 on its way out.
  const prompted = d.op('Add', [logits, d.op('Mul', [hasMask, maskInput])]);
  const unclamped = tokens(d, prompted, 1, 3, 'masks_unclamped');
  iouHead(d, unclamped, dist, 1, 3, 'iou_predictions');
  d.op('Clip', [unclamped, f32(d, [], [-32]), f32(d, [], [32])], {}, 'masks');
  d.output('masks', 'float', ['num_labels', 3, LOW_RES, LOW_RES]);
  d.output('iou_predictions', 'float', ['num_labels', 3]);
  return { encoder: e.serialize('tiny_sam2_encoder', OPSET), decoder: d.serialize('tiny_sam2_decoder', OPSET) };
}

/**
 * EfficientSAM: 0..1 NCHW input of any size, stretched to 1024² and
 * ImageNet-normalised inside; prompts in original pixels with an int64
 * orig_im_size; outputs full-size masks, IoUs and (third) low-res logits.
 */
export function buildEfficientSam(): { encoder: Uint8Array; decoder: Uint8Array } {
  const e = new GraphBuilder();
  const images = e.input('batched_images', 'float', ['batch', 3, 'height', 'width']);
  const sizes = e.op('Concat', [e.op('Slice', [e.op('Shape', [images]), i64(e, [0]), i64(e, [2])]), i64(e, [TINY_INPUT_SIZE, TINY_INPUT_SIZE])], { axis: 0 });
  const stretched = e.op('Resize', [images, '', '', sizes], { mode: 'linear', coordinate_transformation_mode: 'half_pixel' });
  const norm = e.op('Div', [e.op('Sub', [stretched, f32(e, [1, 3, 1, 1], IMAGENET_MEAN)]), f32(e, [1, 3, 1, 1], IMAGENET_STD)]);
  colourEmbedding(e, norm, 4, 'image_embeddings');
  e.output('image_embeddings', 'float', ['batch', CHANNELS, EMBED, EMBED]);

  const d = new GraphBuilder();
  const emb = d.input('image_embeddings', 'float', ['batch', CHANNELS, EMBED, EMBED]);
  const coords = d.input('batched_point_coords', 'float', ['batch', 'num_queries', 'num_pts', 2]);
  d.input('batched_point_labels', 'float', ['batch', 'num_queries', 'num_pts']);
  const orig = d.input('orig_im_size', 'int64', [2]);
  const first = d.op('Reshape', [d.op('Slice', [coords, i64(d, [0]), i64(d, [1]), i64(d, [2])]), i64(d, [-1, 2])]);
  // (x, y) in pixels → the 1024 frame: × 1024 / (w, h).
  const wh = d.op('Cast', [d.op('Gather', [orig, i64(d, [1, 0])], { axis: 0 })], { to: 1 });
  const xy = d.op('Mul', [first, d.op('Div', [f32(d, [], [TINY_INPUT_SIZE]), wh])]);
  const { dist, logits } = colourLogits(d, emb, xy);
  const low = tokens(d, logits, 1, 3, 'low_res_q');
  const iou = iouHead(d, low, dist, 1, 3, 'iou_q');
  const full = resizeTo(d, low, orig, 'masks_q');
  d.op('Unsqueeze', [full, i64(d, [0])], {}, 'output_masks');
  d.op('Unsqueeze', [iou, i64(d, [0])], {}, 'iou_predictions');
  d.op('Unsqueeze', [low, i64(d, [0])], {}, 'low_res_logits');
  d.output('output_masks', 'float', [1, 'num_queries', 3, 'height', 'width']);
  d.output('iou_predictions', 'float', [1, 'num_queries', 3]);
  d.output('low_res_logits', 'float', [1, 'num_queries', 3, LOW_RES, LOW_RES]);
  return { encoder: e.serialize('tiny_efficientsam_encoder', OPSET), decoder: d.serialize('tiny_efficientsam_decoder', OPSET) };
}
