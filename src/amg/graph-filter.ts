/**
 * The host's side of the filter graph: the filters the graph runs, loosened
 * by a few pixels, and the exact decision for the candidates it kept that sit
 * that close to a threshold. The graph's resize may round a logit on the
 * other side of a threshold from PyTorch's, which moves a stability count or
 * a box side by a pixel; a candidate that far from every threshold is decided
 * the same either way, and the rest are upscaled exactly, here, one by one.
 */
import type { AmgSettings } from '../settings/settings.js';
import { processBatch, type Candidates, type CropFrame } from './batch.js';
import { EDGE_TOLERANCE, MASK_THRESHOLD } from './mask-ops.js';
import type { CandidateFilters, FilteredCandidates } from './prompt-model.js';

/** Pixels a count may move by the graph's rounding. */
export const SLACK_PIXELS = 8;
/** Pixels a box side may move by it. */
const BOX_SLACK = 1;

export function loosenedFilters(s: AmgSettings): CandidateFilters {
  return {
    predIouThresh: s.predIouThresh,
    stabilityScoreThresh: s.stabilityScoreThresh,
    stabilityScoreOffset: s.stabilityScoreOffset,
    maskThreshold: MASK_THRESHOLD,
    slackPixels: SLACK_PIXELS,
    cropTolerance: EDGE_TOLERANCE - BOX_SLACK,
    imageTolerance: EDGE_TOLERANCE + BOX_SLACK,
  };
}

/** The graph's kept candidates that pass the reference's filters, with their boxes (exact ones for those decided here). */
export function settleFiltered(c: Candidates, filtered: FilteredCandidates, frame: CropFrame, s: AmgSettings): { kept: number[]; boxes: number[] } {
  const plane = frame.upscaler.geometry.lowRes ** 2;
  const kept: number[] = [];
  const boxes: number[] = [];
  for (let k = 0; k < filtered.kept.length; k++) {
    const i = filtered.kept[k];
    const box = Array.from(filtered.boxes.subarray(4 * k, 4 * k + 4));
    if (!surelyPasses(filtered.intersections[k], filtered.unions[k], box, frame, s)) {
      const one = { count: 1, lowRes: c.lowRes.subarray(i * plane, (i + 1) * plane), iouPreds: c.iouPreds.subarray(i, i + 1), points: c.points.subarray(2 * i, 2 * i + 2) };
      const exact = processBatch(one, frame, s);
      if (exact.length === 0) continue;
      box.splice(0, 4, ...exact.boxes);
    }
    kept.push(i);
    boxes.push(...box);
  }
  return { kept, boxes };
}

function surelyPasses(intersections: number, unions: number, box: number[], frame: CropFrame, s: AmgSettings): boolean {
  if (s.stabilityScoreThresh > 0 && !((intersections - SLACK_PIXELS) / (unions + SLACK_PIXELS) >= s.stabilityScoreThresh)) return false;
  const { cropBox, imageW, imageH } = frame;
  const origin = [cropBox[0], cropBox[1], cropBox[0], cropBox[1]];
  const imageBox = [0, 0, imageW, imageH];
  for (let k = 0; k < 4; k++) {
    const side = box[k] + origin[k];
    const mayBeNearCrop = Math.abs(side - cropBox[k]) <= EDGE_TOLERANCE + BOX_SLACK;
    const mayBeFarFromImage = Math.abs(side - imageBox[k]) > EDGE_TOLERANCE - BOX_SLACK;
    if (mayBeNearCrop && mayBeFarFromImage) return false;
  }
  return true;
}
