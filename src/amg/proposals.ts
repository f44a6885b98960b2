import type { Candidates } from './batch.js';
import { boxNms } from './nms.js';

/**
 * A crop's candidates that passed the filter graph, before NMS: their boxes,
 * scores and prompt points, and the low-resolution logits each needs later,
 * when it survives NMS and is upscaled and encoded.
 */
export class Proposals {
  private readonly planes: Float32Array[] = [];
  private readonly boxes: number[] = [];
  private readonly iouPreds: number[] = [];
  private readonly points: number[] = [];

  constructor(private readonly planeSize: number) {}

  get length(): number {
    return this.planes.length;
  }

  /** Adds a batch's kept candidates (indices into `c`) with their crop-frame boxes. */
  add(c: Candidates, kept: number[], boxes: number[]): void {
    const n = this.planeSize;
    kept.forEach((i, k) => {
      this.planes.push(c.lowRes.slice(i * n, (i + 1) * n));
      this.iouPreds.push(c.iouPreds[i]);
      this.points.push(c.points[2 * i], c.points[2 * i + 1]);
      for (let j = 0; j < 4; j++) this.boxes.push(boxes[4 * k + j]);
    });
  }

  /** NMS by predicted IoU in the crop, as finishCrop runs it; the survivors in NMS's order. */
  survivors(nmsThresh: number): Candidates {
    const scores = Float32Array.from(this.iouPreds);
    const keep = boxNms(Int32Array.from(this.boxes), scores, nmsThresh);
    const n = this.planeSize;
    const lowRes = new Float32Array(keep.length * n);
    const points = new Float64Array(keep.length * 2);
    keep.forEach((i, k) => {
      lowRes.set(this.planes[i], k * n);
      points[2 * k] = this.points[2 * i];
      points[2 * k + 1] = this.points[2 * i + 1];
    });
    return { count: keep.length, lowRes, iouPreds: Float32Array.from(keep, (i) => scores[i]), points };
  }
}
