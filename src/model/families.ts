import type * as ort from 'onnxruntime-node';
import type { GraphInfo, TensorInfo } from '../graph/proto-info.js';
import { ModelError } from './model-error.js';

export type FamilyId = 'sam' | 'edgesam' | 'efficientvit-sam' | 'sam2' | 'efficientsam';

/** Each family, as an error message or `models list` names it, with the decoder inputs that identify it. */
export const FAMILIES: Readonly<Record<FamilyId, { title: string; signature: string[] }>> = {
  sam: { title: 'official SAM decoder export (SAM, MobileSAM, samexporter, Acly)', signature: ['image_embeddings', 'point_coords', 'point_labels', 'mask_input', 'has_mask_input', 'orig_im_size'] },
  edgesam: { title: 'EdgeSAM', signature: ['image_embeddings', 'point_coords', 'point_labels', '-> scores, masks'] },
  'efficientvit-sam': { title: 'EfficientViT-SAM', signature: ['image_embeddings', 'point_coords', 'point_labels', '-> masks, iou_predictions'] },
  sam2: { title: 'SAM 2 / 2.1 (samexporter)', signature: ['image_embed', 'high_res_feats_0', 'high_res_feats_1', 'point_coords', 'point_labels', 'mask_input', 'has_mask_input'] },
  efficientsam: { title: 'EfficientSAM', signature: ['image_embeddings', 'batched_point_coords', 'batched_point_labels', 'orig_im_size'] },
};

export function graphInfo(session: ort.InferenceSession, file: string): GraphInfo {
  const collect = (names: readonly string[], metas: readonly ort.InferenceSession.ValueMetadata[]) =>
    new Map(names.map((n, i) => {
      const m = metas[i];
      return [n, m?.isTensor ? { type: m.type, shape: m.shape } : { type: 'non-tensor', shape: [] }];
    }));
  return { file, inputs: collect(session.inputNames, session.inputMetadata), outputs: collect(session.outputNames, session.outputMetadata) };
}

export function describeGraph(g: GraphInfo): string {
  return `it has inputs (${[...g.inputs.keys()].join(', ')}) and outputs (${[...g.outputs.keys()].join(', ')})`;
}

export const fixedDim = (d: number | string | undefined): number | undefined => (typeof d === 'number' && d > 0 ? d : undefined);
const shapeText = (s: readonly (number | string)[]) => `[${s.join(',')}]`;

/** How crops are turned into encoder input. */
export interface EncoderPlan {
  input: string;
  layout: 'nchw' | 'hwc';
  /**
   * letterbox: longest side to `size`, zero-pad to size² (NCHW) or leave unpadded (HWC, the graph pads);
   * stretch: to size × size as SAM 2's transform does (antialiased, in float32; ImageNet statistics);
   * native: the crop as it is (the graph resizes).
   */
  resize: 'letterbox' | 'stretch' | 'native';
  size: number;
  /** sam: (x - mean) / std on 0..255; imagenet: (x/255 - mean) / std; unit: x / 255; raw: x. */
  normalize: 'sam' | 'imagenet' | 'unit' | 'raw';
  /** Encoder outputs handed to the decoder under the same name (the first renamed when `renameFirst`). */
  outputs: string[];
  renameFirst?: string;
}

/** How prompts are fed and logits read back. */
export interface DecoderPlan {
  /** Prompt coordinates: letterbox (crop resized into a frame²), stretch (crop stretched to frame²), virtual (crop stretched to frame² given as "pixels" with orig_im_size frame²). */
  frame: 'letterbox' | 'stretch' | 'virtual';
  frameSize: number;
  /** Logits cover the letterboxed frame (two resizes, as SAM) or the crop itself (one resize). */
  masks: 'letterbox' | 'direct';
  lowResSize: number;
  promptsPerCall: number;
  /** Add SamPredictor's (0,0) label -1 point to each prompt (graphs that do not pad themselves). */
  paddingPoint: boolean;
  feeds: 'sam' | 'edgesam' | 'efficientvit-sam' | 'sam2' | 'efficientsam';
  lowResOutput: string;
  iouOutput: string;
  /** 4: token 0 single-mask, 1..3 multimask (take 1..3); 3: the multimask outputs only. */
  tokens: 3 | 4;
}

export interface FamilyPlan {
  family: FamilyId;
  encoder: EncoderPlan;
  decoder: DecoderPlan;
}

/** float32 or float16: sam-amg converts to and from half precision at the graph's edge. */
export const isFloatType = (type: string) => type === 'float32' || type === 'float16';

function need(g: GraphInfo, kind: 'input' | 'output', name: string, type: 'float' | 'int64', rank: number): TensorInfo {
  const t = (kind === 'input' ? g.inputs : g.outputs).get(name);
  if (!t) throw new ModelError(`${g.file}: missing ${kind} ${name}; ${describeGraph(g)}`);
  const typeFits = type === 'float' ? isFloatType(t.type) : t.type === type;
  if (!typeFits || t.shape.length !== rank) {
    const expected = type === 'float' ? 'float32 or float16' : type;
    throw new ModelError(`${g.file}: ${kind} ${name} is ${t.type} ${shapeText(t.shape)}, expected ${expected} of rank ${rank}`);
  }
  return t;
}

function checkTokens(tokens: number | undefined, expected: 3 | 4, file: string): void {
  if (tokens === undefined || tokens === expected) return;
  if (tokens === 1) {
    throw new ModelError(`${file}: a single-mask decoder (exported with --return-single-mask) cannot serve automatic mask generation; use the multimask export of the same model (for MobileSAM: sam_mask_decoder_multi.onnx)`);
  }
  throw new ModelError(`${file}: decoder returns ${tokens} masks per prompt, expected ${expected}`);
}

/** The decoder's family from its input and output names. */
export function detectFamily(dec: GraphInfo): FamilyId {
  const has = (n: string) => dec.inputs.has(n);
  const out = (n: string) => dec.outputs.has(n);
  if (has('batched_point_coords')) return 'efficientsam';
  if (has('high_res_feats_0') || has('image_embed')) return 'sam2';
  if (has('interm_embeddings')) {
    throw new ModelError(`${dec.file}: a SAM-HQ decoder (input interm_embeddings) is not supported yet; ${describeGraph(dec)}`);
  }
  if (has('input_points') || has('pixel_values') || has('image_positional_embeddings')) {
    throw new ModelError(`${dec.file}: a transformers.js SAM graph is not supported yet; ${describeGraph(dec)}`);
  }
  if (has('orig_im_size') || has('mask_input')) return 'sam';
  if (has('image_embeddings') && has('point_coords') && dec.inputs.size === 3) {
    if (out('scores')) return 'edgesam';
    if (out('iou_predictions')) return 'efficientvit-sam';
  }
  const names = new Set([...dec.inputs.keys(), ...[...dec.outputs.keys()].map((o) => `-> ${o}`)]);
  const near = (Object.keys(FAMILIES) as FamilyId[]).filter((f) => FAMILIES[f].signature.some((s) => names.has(s) || [...names].some((n) => s.includes(n) && n.length > 2)));
  const list = (near.length ? near : Object.keys(FAMILIES) as FamilyId[])
    .map((f) => `${FAMILIES[f].title} (${FAMILIES[f].signature.join(', ')})`).join('; ');
  throw new ModelError(`${dec.file}: not a decoder sam-amg knows; ${describeGraph(dec)}. It could be: ${list}`);
}

function samLikeEncoder(enc: GraphInfo, inputSize: number | undefined, normalize: 'sam'): EncoderPlan {
  if (enc.inputs.size !== 1) throw new ModelError(`${enc.file}: an image encoder takes one input, but ${describeGraph(enc)}`);
  const [name, t] = [...enc.inputs.entries()][0];
  if (!isFloatType(t.type)) throw new ModelError(`${enc.file}: input ${name} is ${t.type}, expected float32 or float16`);
  const output = enc.outputs.has('image_embeddings') ? 'image_embeddings' : [...enc.outputs.keys()][0];
  if (t.shape.length === 4 && (fixedDim(t.shape[1]) ?? 3) === 3) {
    const h = fixedDim(t.shape[2]);
    const w = fixedDim(t.shape[3]);
    if (h !== undefined && w !== undefined && h !== w) {
      throw new ModelError(`${enc.file}: input ${name} has shape ${shapeText(t.shape)}, expected a square [1,3,S,S]`);
    }
    const size = h ?? w ?? inputSize;
    if (size === undefined) throw new ModelError(`${enc.file}: input size is dynamic; set input_size in model.json`);
    if (inputSize !== undefined && size !== inputSize) {
      throw new ModelError(`${enc.file}: input is ${size} pixels square but model.json says input_size ${inputSize}`);
    }
    return { input: name, layout: 'nchw', resize: 'letterbox', size, normalize, outputs: [output], renameFirst: 'image_embeddings' };
  }
  if (t.shape.length === 3 && (fixedDim(t.shape[2]) ?? 3) === 3) {
    return { input: name, layout: 'hwc', resize: 'letterbox', size: inputSize ?? 1024, normalize: 'raw', outputs: [output], renameFirst: 'image_embeddings' };
  }
  throw new ModelError(`${enc.file}: input ${name} has shape ${shapeText(t.shape)}, expected [1,3,S,S] or [H,W,3]`);
}

function checkEmbeddingsFit(enc: GraphInfo, encOutput: string, dec: GraphInfo, decInput: string): void {
  const produced = enc.outputs.get(encOutput);
  const wanted = dec.inputs.get(decInput);
  if (!produced) throw new ModelError(`${enc.file}: missing output ${encOutput}; ${describeGraph(enc)}`);
  if (!wanted) return;
  wanted.shape.forEach((d, i) => {
    const p = fixedDim(produced.shape[i]);
    if (i > 0 && fixedDim(d) !== undefined && p !== undefined && fixedDim(d) !== p) {
      throw new ModelError(`${dec.file}: input ${decInput} is ${shapeText(wanted.shape)} but ${enc.file} output ${encOutput} is ${shapeText(produced.shape)}; the two files are not a pair`);
    }
  });
}

const batched = (t: TensorInfo, axis = 0) => fixedDim(t.shape[axis]) !== 1;

/**
 * Checks an encoder/decoder pair against its family's contract and returns
 * how to run it; every mismatch names the file and the input or output.
 */
export function planFamily(enc: GraphInfo, dec: GraphInfo, inputSize?: number, forced?: FamilyId): FamilyPlan {
  if (dec.inputs.size === 1) {
    const swapped = enc.inputs.size > 1 ? `; ${enc.file} looks like the decoder: the two files look swapped` : '';
    throw new ModelError(`${dec.file}: looks like an image encoder (one input, ${[...dec.inputs.keys()][0]}), not a mask decoder${swapped}`);
  }
  const family = forced ?? detectFamily(dec);
  switch (family) {
    case 'sam': {
      for (const [n, r] of [['image_embeddings', 4], ['point_coords', 3], ['point_labels', 2], ['mask_input', 4], ['has_mask_input', 1], ['orig_im_size', 1]] as const) need(dec, 'input', n, 'float', r);
      const extra = [...dec.inputs.keys()].filter((n) => !FAMILIES.sam.signature.includes(n));
      if (extra.length) throw new ModelError(`${dec.file}: unexpected input ${extra.join(', ')} (not the official SAM decoder export); ${describeGraph(dec)}`);
      const low = need(dec, 'output', 'low_res_masks', 'float', 4);
      need(dec, 'output', 'iou_predictions', 'float', 2);
      checkTokens(fixedDim(low.shape[1]), 4, dec.file);
      const encoder = samLikeEncoder(enc, inputSize, 'sam');
      checkEmbeddingsFit(enc, encoder.outputs[0], dec, 'image_embeddings');
      return { family, encoder, decoder: {
        frame: 'letterbox', frameSize: encoder.size, masks: 'letterbox',
        lowResSize: fixedDim(dec.inputs.get('mask_input')!.shape[2]) ?? fixedDim(low.shape[2]) ?? 256,
        promptsPerCall: batched(dec.inputs.get('point_coords')!) ? Infinity : 1,
        paddingPoint: true, feeds: 'sam', lowResOutput: 'low_res_masks', iouOutput: 'iou_predictions', tokens: 4,
      } };
    }
    case 'edgesam':
    case 'efficientvit-sam': {
      need(dec, 'input', 'image_embeddings', 'float', 4);
      const coords = need(dec, 'input', 'point_coords', 'float', 3);
      need(dec, 'input', 'point_labels', 'float', 2);
      const [lowName, iouName] = family === 'edgesam' ? ['masks', 'scores'] : ['masks', 'iou_predictions'];
      const low = need(dec, 'output', lowName, 'float', 4);
      need(dec, 'output', iouName, 'float', 2);
      checkTokens(fixedDim(low.shape[1]), 4, dec.file);
      const encoder = samLikeEncoder(enc, inputSize, 'sam');
      checkEmbeddingsFit(enc, encoder.outputs[0], dec, 'image_embeddings');
      return { family, encoder, decoder: {
        // EfficientViT-SAM's 512 encoders still take prompts and give masks in the 1024 frame.
        frame: 'letterbox', frameSize: 1024, masks: 'letterbox', lowResSize: fixedDim(low.shape[2]) ?? 256,
        promptsPerCall: family === 'edgesam' || !batched(coords) ? 1 : Infinity,
        paddingPoint: true, feeds: family, lowResOutput: lowName, iouOutput: iouName, tokens: 4,
      } };
    }
    case 'sam2': {
      for (const n of ['image_embed', 'high_res_feats_0', 'high_res_feats_1', 'mask_input']) need(dec, 'input', n, 'float', 4);
      need(dec, 'input', 'point_coords', 'float', 3);
      need(dec, 'input', 'point_labels', 'float', 2);
      need(dec, 'input', 'has_mask_input', 'float', 1);
      const low = need(dec, 'output', 'masks', 'float', 4);
      need(dec, 'output', 'iou_predictions', 'float', 2);
      checkTokens(fixedDim(low.shape[1]), 3, dec.file);
      const image = need(enc, 'input', 'image', 'float', 4);
      const outputs = ['high_res_feats_0', 'high_res_feats_1', 'image_embed'];
      for (const o of outputs) checkEmbeddingsFit(enc, o, dec, o);
      return { family, encoder: {
        input: 'image', layout: 'nchw', resize: 'stretch', size: fixedDim(image.shape[2]) ?? inputSize ?? 1024, normalize: 'imagenet', outputs,
      }, decoder: {
        frame: 'stretch', frameSize: fixedDim(image.shape[2]) ?? 1024, masks: 'direct', lowResSize: fixedDim(low.shape[2]) ?? 256,
        promptsPerCall: batched(dec.inputs.get('point_coords')!) ? Infinity : 1,
        paddingPoint: false, feeds: 'sam2', lowResOutput: 'masks', iouOutput: 'iou_predictions', tokens: 3,
      } };
    }
    case 'efficientsam': {
      need(dec, 'input', 'image_embeddings', 'float', 4);
      const coords = need(dec, 'input', 'batched_point_coords', 'float', 4);
      need(dec, 'input', 'batched_point_labels', 'float', 3);
      need(dec, 'input', 'orig_im_size', 'int64', 1);
      const iou = need(dec, 'output', 'iou_predictions', 'float', 3);
      // The low-resolution logits are the output that is neither output_masks nor iou_predictions.
      const lowName = [...dec.outputs.keys()].find((n) => n !== 'output_masks' && n !== 'iou_predictions');
      if (!lowName) throw new ModelError(`${dec.file}: no low-resolution mask output besides output_masks; ${describeGraph(dec)}`);
      const low = need(dec, 'output', lowName, 'float', 5);
      checkTokens(fixedDim(iou.shape[2]), 3, dec.file);
      const images = need(enc, 'input', 'batched_images', 'float', 4);
      void images;
      checkEmbeddingsFit(enc, 'image_embeddings', dec, 'image_embeddings');
      const lowRes = fixedDim(low.shape[3]) ?? 256;
      return { family, encoder: {
        input: 'batched_images', layout: 'nchw', resize: 'native', size: 1024, normalize: 'unit', outputs: ['image_embeddings'],
      }, decoder: {
        // Points go in "original pixels" of a virtual lowRes² image, which keeps the graph's full-size output small.
        frame: 'virtual', frameSize: lowRes, masks: 'direct', lowResSize: lowRes,
        promptsPerCall: batched(coords, 1) ? Infinity : 1,
        paddingPoint: false, feeds: 'efficientsam', lowResOutput: lowName, iouOutput: 'iou_predictions', tokens: 3,
      } };
    }
  }
}
