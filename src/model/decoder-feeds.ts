import * as ort from 'onnxruntime-node';
import { preprocessShape } from '../amg/geometry.js';
import type { CropEmbedding } from '../amg/prompt-model.js';
import type { GraphInfo } from '../graph/proto-info.js';
import { fixedDim, type FamilyPlan } from './families.js';
import { fromFloat16, toFloat16 } from './float16.js';

/** A crop's encoder outputs, keyed by the decoder input they feed, plus its frame. */
export class OnnxEmbedding implements CropEmbedding {
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
export function floatTensor(graph: GraphInfo, name: string, data: Float32Array, dims: number[]): ort.Tensor {
  return graph.inputs.get(name)?.type === 'float16' ? new ort.Tensor('float16', toFloat16(data), dims) : new ort.Tensor('float32', data, dims);
}

/** An encoder output in the float type the decoder input wants. */
export function retype(graph: GraphInfo, name: string, t: ort.Tensor): ort.Tensor {
  const wanted = graph.inputs.get(name)?.type ?? t.type;
  return wanted === t.type ? t : floatTensor(graph, name, floatData(t), [...t.dims]);
}

/** A float output's values as float32. */
export function floatData(t: ort.Tensor): Float32Array {
  if (t.type === 'float16') return fromFloat16(t.data as Uint16Array);
  return t.data as Float32Array;
}

/** A crop's embedding tensors in its frame: where its points go and which part of the logits it covers. */
export function embeddingFrame(plan: FamilyPlan, tensors: Record<string, ort.Tensor>, w: number, h: number): OnnxEmbedding {
  const d = plan.decoder;
  if (d.frame === 'letterbox') {
    const [fh, fw] = preprocessShape(h, w, d.frameSize);
    return new OnnxEmbedding(tensors, fw / w, fh / h, d.frameSize, fh, fw);
  }
  const L = d.lowResSize;
  return new OnnxEmbedding(tensors, d.frameSize / w, d.frameSize / h, L, L, L);
}


/** One call's decoder inputs for `n` single-point prompts; `zeros` keeps the zero mask prompt between calls. */
export function promptFeeds(plan: FamilyPlan, graph: GraphInfo, embedding: OnnxEmbedding, points: Float32Array, n: number, zeros: { data: Float32Array }): Record<string, ort.Tensor> {
  const d = plan.decoder;
  const L = d.lowResSize;
  const f32 = (name: string, data: Float32Array, dims: number[]) => floatTensor(graph, name, data, dims);
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
    // One mask prompt for every point prompt, or, where the graph declares one (segment_anything's export, its
    // prompt axis freed; src/graph/prompt-axis.ts), one for the whole call: AMG's is always the empty one.
    const m = graph.inputs.get('mask_input')?.shape[0] === 1 ? 1 : n;
    if (zeros.data.length < m * L * L) zeros.data = new Float32Array(m * L * L);
    return {
      mask_input: f32('mask_input', zeros.data.subarray(0, m * L * L), [m, 1, L, L]),
      has_mask_input: f32('has_mask_input', new Float32Array(m), [m]),
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

/**
 * The decoder inputs that stay the same for every prompt of a crop: the
 * embeddings, the image size, and the mask prompt AMG never gives (zeros,
 * has_mask_input 0; with the prompt axis of a call, which a split decoder
 * always sends full).
 */
export function cropConstantInputs(plan: FamilyPlan): Set<string> {
  return new Set<string>([...embeddingInputs(plan), 'orig_im_size', 'mask_input', 'has_mask_input']);
}

/** The decoder inputs the encoder's outputs feed. */
export function embeddingInputs(plan: FamilyPlan): string[] {
  return plan.encoder.outputs.map((o, i) => (i === 0 && plan.encoder.renameFirst ? plan.encoder.renameFirst : o));
}

/**
 * A made-up embedding for each embedding input (the shapes the graph
 * declares, values in [-0.5, 0.5) from xorshift32: cheap and deterministic),
 * for checking a decoder's parts against its whole graph at load.
 */
export function madeUpEmbedding(plan: FamilyPlan, graph: GraphInfo): Record<string, ort.Tensor> {
  let seed = 12345;
  const tensors: Record<string, ort.Tensor> = {};
  for (const name of embeddingInputs(plan)) {
    const dims = [...(graph.inputs.get(name)?.shape ?? [])].map((v) => fixedDim(v) ?? 1);
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      data[i] = (seed >>> 0) / 4294967296 - 0.5;
    }
    tensors[name] = floatTensor(graph, name, data, dims);
  }
  return tensors;
}

/** The made-up embedding's tensors (see madeUpEmbedding) in the frame every load check uses; a fresh map each call. */
export function sampleFrame(plan: FamilyPlan, tensors: Record<string, ort.Tensor>): OnnxEmbedding {
  return embeddingFrame(plan, { ...tensors }, 1024, 768);
}

/** `n` points of load-check call `call` in the sample frame. */
export function samplePoints(n: number, call: number): Float32Array {
  const [x, y] = call === 0 ? [300, 200] : [700, 450];
  return Float32Array.from({ length: 2 * n }, (_, k) => (k % 2 === 0 ? x + 9 * k : y + 7 * k));
}
