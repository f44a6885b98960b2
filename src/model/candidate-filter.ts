import * as ort from 'onnxruntime-node';
import type { CandidateFilters, FilteredCandidates, FilterFrame } from '../amg/prompt-model.js';
import { buildFilterGraph, FILTER_INPUTS as I, FILTER_OUTPUTS as O } from '../graph/filter-graph.js';
import { createOnDevice, type Device } from './device.js';

/**
 * Bytes of float32 planes one filter call may hold: each candidate needs its
 * S × S frame and two crop-sized planes (logits and a comparison). A batch of
 * 64 prompts' 192 candidates at 1024² is 2.3 GB, more than a call should take
 * on a host, so calls carry as many candidates as fit.
 */
const DEVICE_BUDGET_BYTES = 2 ** 31;
const CPU_BUDGET_BYTES = 2 ** 28;

/** The filter graph (src/graph/filter-graph.ts) in a session on the model's device. */
export class CandidateFilterSession {
  private constructor(private readonly session: ort.InferenceSession, private readonly budgetBytes: number) {}

  static async open(device: Device, options: ort.InferenceSession.SessionOptions): Promise<CandidateFilterSession> {
    const graph = buildFilterGraph();
    const session = await createOnDevice(device, (o) => ort.InferenceSession.create(graph, o), options);
    return new CandidateFilterSession(session, device.kind === 'cpu' ? CPU_BUDGET_BYTES : DEVICE_BUDGET_BYTES);
  }

  async filter(lowRes: Float32Array, iouPreds: Float32Array, count: number, lowResSize: number, frame: FilterFrame, f: CandidateFilters): Promise<FilteredCandidates> {
    const g = frame.geometry;
    const plane = lowResSize * lowResSize;
    // Candidates the IoU filter drops are not sent (the graph would drop them too); their logits may not even exist.
    const sent: number[] = [];
    for (let i = 0; i < count; i++) if (!(f.predIouThresh > 0) || iouPreds[i] > f.predIouThresh) sent.push(i);
    const perCandidate = 4 * (g.inputSize * g.inputSize + 2 * g.cropH * g.cropW);
    const perCall = Math.max(1, Math.floor(this.budgetBytes / perCandidate));
    const int64 = (a: number, b: number) => new ort.Tensor('int64', BigInt64Array.from([BigInt(a), BigInt(b)]), [2]);
    const f32 = (values: number[]) => new ort.Tensor('float32', Float32Array.from(values), [values.length]);
    const fixed = {
      [I.frameSize]: int64(g.inputSize, g.inputSize),
      [I.resizedSize]: int64(g.resizedH, g.resizedW),
      [I.cropSize]: int64(g.cropH, g.cropW),
      [I.cropBox]: f32(frame.cropBox),
      [I.imageBox]: f32([0, 0, frame.imageW, frame.imageH]),
      [I.thresholds]: f32([f.predIouThresh, f.stabilityScoreThresh, f.maskThreshold, f.stabilityScoreOffset]),
      [I.filtersOn]: f32([f.predIouThresh > 0 ? 1 : 0, f.stabilityScoreThresh > 0 ? 1 : 0]),
      [I.tolerances]: f32([f.slackPixels, f.cropTolerance, f.imageTolerance]),
    };
    const kept: number[] = [];
    const intersections: number[] = [];
    const unions: number[] = [];
    const boxes: number[] = [];
    for (let first = 0; first < sent.length; first += perCall) {
      const chunk = sent.slice(first, first + perCall);
      const logits = new Float32Array(chunk.length * plane);
      chunk.forEach((i, k) => logits.set(lowRes.subarray(i * plane, (i + 1) * plane), k * plane));
      const out = await this.session.run({
        ...fixed,
        [I.logits]: new ort.Tensor('float32', logits, [chunk.length, 1, lowResSize, lowResSize]),
        [I.iou]: new ort.Tensor('float32', Float32Array.from(chunk, (i) => iouPreds[i]), [chunk.length]),
      });
      const indices = out[O.kept].data as BigInt64Array;
      const inter = out[O.intersections].data as Float32Array;
      const union = out[O.unions].data as Float32Array;
      const box = out[O.boxes].data as BigInt64Array;
      for (let k = 0; k < indices.length; k++) {
        kept.push(chunk[Number(indices[k])]);
        intersections.push(inter[k]);
        unions.push(union[k]);
        for (let c = 0; c < 4; c++) boxes.push(Number(box[4 * k + c]));
      }
    }
    return {
      kept: Int32Array.from(kept), boxes: Int32Array.from(boxes),
      intersections: Float32Array.from(intersections), unions: Float32Array.from(unions),
    };
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
