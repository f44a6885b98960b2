import { rleArea, rleBoxXyxy } from '../rle/rle.js';
import { boxArea, type BoxXyxy } from './geometry.js';
import { MaskData } from './mask-data.js';
import { boxNms } from './nms.js';
import { removeSmallRegions } from './regions.js';

/** Per crop: NMS by predicted IoU, then boxes and points into image coordinates. */
export function finishCrop(data: MaskData, cropBox: BoxXyxy, nmsThresh: number): MaskData {
  return toImageFrame(data.filter(boxNms(data.boxes, data.iouPreds, nmsThresh)), cropBox);
}

/** Boxes and points from crop into image coordinates (in place). */
export function toImageFrame(kept: MaskData, cropBox: BoxXyxy): MaskData {
  const [x0, y0] = cropBox;
  for (let k = 0; k < kept.length; k++) {
    kept.boxes[4 * k] += x0;
    kept.boxes[4 * k + 1] += y0;
    kept.boxes[4 * k + 2] += x0;
    kept.boxes[4 * k + 3] += y0;
    kept.points[2 * k] += x0;
    kept.points[2 * k + 1] += y0;
  }
  return kept;
}

/** Across crops: NMS preferring masks from smaller crops (score 1 / crop area, in float32). */
export function mergeCrops(data: MaskData, nmsThresh: number): MaskData {
  const scores = new Float32Array(data.length);
  for (let k = 0; k < data.length; k++) scores[k] = 1 / boxArea(data.cropBoxes, 4 * k);
  return data.filter(boxNms(data.boxes, scores, nmsThresh));
}

/**
 * The reference's `postprocess_small_regions`: fill small holes, then drop
 * small islands; NMS prefers unchanged masks; kept changed masks take their
 * new RLE and box.
 */
export function removeSmallRegionsAll(data: MaskData, minArea: number, nmsThresh: number): MaskData {
  if (data.length === 0) return data;
  const newRles = [];
  const scores = new Float32Array(data.length);
  const boxes = new Int32Array(data.length * 4);
  for (let k = 0; k < data.length; k++) {
    const holes = removeSmallRegions(data.rles[k], minArea, 'holes');
    const islands = removeSmallRegions(holes.rle, minArea, 'islands');
    newRles.push(islands.rle);
    scores[k] = holes.changed || islands.changed ? 0 : 1;
    boxes.set(rleBoxXyxy(islands.rle), 4 * k);
  }
  const keep = boxNms(boxes, scores, nmsThresh);
  for (const k of keep) {
    if (scores[k] === 0) {
      data.rles[k] = newRles[k];
      data.boxes.set(boxes.subarray(4 * k, 4 * k + 4), 4 * k);
    }
  }
  return data.filter(keep);
}

/**
 * Whole-mask area filters on the final masks (samgeo has them; the reference
 * does not): fewer than `minArea` pixels, or `maxFraction` of the image or
 * more, is discarded; 0 turns either off.
 */
export function filterByArea(data: MaskData, minArea: number, maxFraction: number, imageArea: number): MaskData {
  const keep: number[] = [];
  for (let k = 0; k < data.length; k++) {
    const area = rleArea(data.rles[k]);
    if (minArea > 0 && area < minArea) continue;
    if (maxFraction > 0 && area / imageArea >= maxFraction) continue;
    keep.push(k);
  }
  return keep.length === data.length ? data : data.filter(keep);
}
