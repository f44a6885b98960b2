/**
 * The candidate filter as an ONNX graph, so a GPU provider runs what the
 * reference's `_process_batch` does on its own device: the predicted-IoU
 * filter, the two bilinear upscalings of the low-resolution logits to the
 * crop, the stability score, the box of each binarised mask and the
 * crop-edge test. It returns the indices of the candidates that pass, with
 * their stability counts and boxes; the host runs NMS and then upscales and
 * encodes only the survivors.
 *
 * One graph serves every crop: the sizes, the crop box and the thresholds
 * are inputs. Float rounding of the resize may differ from PyTorch's in the
 * last place, so a pixel sitting on a threshold can fall the other way: the
 * tolerances let the graph keep every candidate that might pass, and the host
 * decides the close ones with its exact upscaler, which also makes every mask written.
 */
import { GraphBuilder, ONNX_FLOAT, ONNX_INT64 } from './graph-builder.js';

export const FILTER_GRAPH_OPSET = 17;

/** Input names, in the order `filterFeeds` fills them. */
export const FILTER_INPUTS = {
  /** float [N, 1, L, L]: the candidates' low-resolution logits. */
  logits: 'low_res_logits',
  /** float [N]. */
  iou: 'iou_predictions',
  /** int64 [2]: the encoder's input side S, twice (the first resize goes to S × S). */
  frameSize: 'frame_size',
  /** int64 [2]: the crop's resized height and width, kept from the S × S frame. */
  resizedSize: 'resized_size',
  /** int64 [2]: the crop's height and width in image pixels. */
  cropSize: 'crop_size',
  /** float [4]: the crop box (x0, y0, x1, y1) in the image. */
  cropBox: 'crop_box',
  /** float [4]: (0, 0, image width, image height). */
  imageBox: 'image_box',
  /** float [4]: predicted-IoU threshold, stability threshold, mask threshold, stability offset. */
  thresholds: 'thresholds',
  /**
   * float [3]: pixels of slack in the stability counts, and the crop-edge
   * tolerances towards the crop's and the image's edges (the reference's 20 for both). With slack,
   * a candidate is kept when its counts could pass with that many pixels moved either way.
   */
  tolerances: 'tolerances',
  /** float [2]: 1 where the predicted-IoU filter, and the stability filter, are on (their thresholds > 0). */
  filtersOn: 'filters_on',
} as const;

export const FILTER_OUTPUTS = {
  /** int64 [K]: indices of the candidates that pass, ascending. */
  kept: 'kept',
  /** int64 [K, 4]: inclusive XYXY boxes in the crop ([0, 0, 0, 0] for an empty mask). */
  boxes: 'boxes',
  /** float [K]: pixels above the mask threshold plus the offset. */
  intersections: 'intersections',
  /** float [K]: pixels above the mask threshold minus the offset. */
  unions: 'unions',
} as const;

export function buildFilterGraph(): Uint8Array {
  const g = new GraphBuilder();
  const I = FILTER_INPUTS;
  const logits = g.input(I.logits, 'float', ['n', 1, 'l', 'l']);
  const iou = g.input(I.iou, 'float', ['n']);
  const frameSize = g.input(I.frameSize, 'int64', [2]);
  const resizedSize = g.input(I.resizedSize, 'int64', [2]);
  const cropSize = g.input(I.cropSize, 'int64', [2]);
  const cropBox = g.input(I.cropBox, 'float', [4]);
  const imageBox = g.input(I.imageBox, 'float', [4]);
  const thresholds = g.input(I.thresholds, 'float', [4]);
  const filtersOn = g.input(I.filtersOn, 'float', [2]);
  const tolerances = g.input(I.tolerances, 'float', [3]);

  const scalar = (v: number) => g.constant('float', [], [v]);
  const ints = (...v: number[]) => g.constant('int64', [v.length], v);
  const pick = (vector: string, k: number) => g.op('Gather', [vector, g.constant('int64', [], [k])]);
  const asFloat = (x: string) => g.op('Cast', [x], { to: ONNX_FLOAT });
  const batch = g.op('Slice', [g.op('Shape', [logits]), ints(0), ints(2), ints(0)]);
  // PyTorch's bilinear with align_corners=False is ONNX's linear resize with half-pixel centres (no antialiasing).
  const resize = (x: string, size: string) => g.op('Resize', [x, '', '', g.op('Concat', [batch, size], { axis: 0 })], {
    mode: 'linear', coordinate_transformation_mode: 'half_pixel',
  });
  const frame = resize(logits, frameSize);
  const kept = g.op('Slice', [frame, ints(0, 0), resizedSize, ints(2, 3)]);
  const masks = resize(kept, cropSize);

  const maskThreshold = pick(thresholds, 2);
  const offset = pick(thresholds, 3);
  const countAbove = (t: string) => g.op('ReduceSum', [asFloat(g.op('Greater', [masks, t])), ints(1, 2, 3)], { keepdims: 0 });
  const intersections = countAbove(g.op('Add', [maskThreshold, offset]));
  const unions = countAbove(g.op('Sub', [maskThreshold, offset]));
  const slack = pick(tolerances, 0);

  // The reference's batched_mask_to_box: first and last row and column holding a pixel above the threshold.
  const binary = asFloat(g.op('Greater', [masks, maskThreshold]));
  const span = (axis: 2 | 3, sizeIndex: number) => {
    const any = g.op('ReduceMax', [binary], { axes: [axis === 2 ? 3 : 2], keepdims: 0 }); // [N, 1, size]
    const size = asFloat(pick(cropSize, sizeIndex));
    const coords = asFloat(g.op('Range', [g.constant('int64', [], [0]), pick(cropSize, sizeIndex), g.constant('int64', [], [1])]));
    const marked = g.op('Mul', [any, coords]);
    const last = g.op('ReduceMax', [marked], { axes: [1, 2], keepdims: 0 });
    const outside = g.op('Mul', [g.op('Sub', [scalar(1), any]), size]);
    const first = g.op('ReduceMin', [g.op('Add', [marked, outside])], { axes: [1, 2], keepdims: 0 });
    const empty = g.op('Sub', [scalar(1), g.op('ReduceMax', [any], { axes: [1, 2], keepdims: 0 })]);
    return { first, last, empty };
  };
  const rows = span(2, 0);
  const cols = span(3, 1);
  const stacked = g.op('Concat', [cols.first, rows.first, cols.last, rows.last].map((v) => g.op('Unsqueeze', [v, ints(1)])), { axis: 1 });
  const boxes = g.op('Mul', [stacked, g.op('Unsqueeze', [g.op('Sub', [scalar(1), rows.empty]), ints(1)])]);

  // is_box_near_crop_edge: near the crop's edge and not near the image's, on any side.
  const cropOrigin = g.op('Concat', [pick(cropBox, 0), pick(cropBox, 1), pick(cropBox, 0), pick(cropBox, 1)].map((v) => g.op('Unsqueeze', [v, ints(0)])), { axis: 0 });
  const inImage = g.op('Add', [boxes, cropOrigin]);
  const near = (target: string, tolerance: string) => g.op('LessOrEqual', [g.op('Abs', [g.op('Sub', [inImage, target])]), tolerance]);
  const edge = g.op('And', [near(cropBox, pick(tolerances, 1)), g.op('Not', [near(imageBox, pick(tolerances, 2))])]);
  const nearEdge = g.op('ReduceMax', [asFloat(edge)], { axes: [1], keepdims: 0 });

  const off = (k: number) => g.op('Equal', [pick(filtersOn, k), scalar(0)]);
  const iouOk = g.op('Or', [off(0), g.op('Greater', [iou, pick(thresholds, 0)])]);
  // intersections / unions >= threshold, with `slack` pixels moved towards passing.
  const relaxed = g.op('Div', [g.op('Add', [intersections, slack]), g.op('Sub', [unions, slack])]);
  const stabilityOk = g.op('Or', [off(1), g.op('GreaterOrEqual', [relaxed, pick(thresholds, 1)])]);
  const keep = g.op('And', [g.op('And', [iouOk, stabilityOk]), g.op('Equal', [nearEdge, scalar(0)])]);
  const indices = g.op('Squeeze', [g.op('NonZero', [keep]), ints(0)]);

  const O = FILTER_OUTPUTS;
  g.op('Identity', [indices], {}, O.kept);
  g.op('Cast', [g.op('Gather', [boxes, indices], { axis: 0 })], { to: ONNX_INT64 }, O.boxes);
  g.op('Gather', [intersections, indices], { axis: 0 }, O.intersections);
  g.op('Gather', [unions, indices], { axis: 0 }, O.unions);
  g.output(O.kept, 'int64', ['k']);
  g.output(O.boxes, 'int64', ['k', 4]);
  g.output(O.intersections, 'float', ['k']);
  g.output(O.unions, 'float', ['k']);
  return g.serialize('sam_amg_candidate_filter', FILTER_GRAPH_OPSET, 'sam-amg filter-graph');
}
