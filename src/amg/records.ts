import { encodeCountsString } from '../rle/coco-string.js';
import { rleArea } from '../rle/rle.js';
import type { MaskData } from './mask-data.js';

/** One mask as the reference's `generate` returns it (COCO RLE segmentation). */
export interface MaskRecord {
  segmentation: { size: [number, number]; counts: string };
  area: number;
  /** XYWH from the inclusive XYXY box, so a one-pixel mask is [x, y, 0, 0]. */
  bbox: [number, number, number, number];
  predicted_iou: number;
  point_coords: [[number, number]];
  stability_score: number;
  /** XYWH. */
  crop_box: [number, number, number, number];
}

function xywh(a: ArrayLike<number>, k: number): [number, number, number, number] {
  return [a[k], a[k + 1], a[k + 2] - a[k], a[k + 3] - a[k + 1]];
}

export function toRecords(data: MaskData): MaskRecord[] {
  const records: MaskRecord[] = [];
  for (let k = 0; k < data.length; k++) {
    const rle = data.rles[k];
    records.push({
      segmentation: { size: [rle.size[0], rle.size[1]], counts: encodeCountsString(rle.counts) },
      area: rleArea(rle),
      bbox: xywh(data.boxes, 4 * k),
      predicted_iou: data.iouPreds[k],
      point_coords: [[data.points[2 * k], data.points[2 * k + 1]]],
      stability_score: data.stability[k],
      crop_box: xywh(data.cropBoxes, 4 * k),
    });
  }
  return records;
}
