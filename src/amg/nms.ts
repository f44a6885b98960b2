const f32 = Math.fround;

/**
 * torchvision's `nms` on XYXY boxes in float32: visit by descending score
 * (stable, so ties keep the earlier box first) and suppress any box whose IoU
 * with a kept one is above `threshold`. Returns kept indices in visit order.
 */
export function boxNms(
  boxes: ArrayLike<number>,
  scores: ArrayLike<number>,
  threshold: number,
): number[] {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => scores[b] - scores[a] || a - b);
  const areas = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const k = i * 4;
    areas[i] = f32(f32(boxes[k + 2] - boxes[k]) * f32(boxes[k + 3] - boxes[k + 1]));
  }
  const suppressed = new Uint8Array(n);
  const keep: number[] = [];
  for (let oi = 0; oi < n; oi++) {
    const i = order[oi];
    if (suppressed[i]) continue;
    keep.push(i);
    const ki = i * 4;
    const ix0 = boxes[ki], iy0 = boxes[ki + 1], ix1 = boxes[ki + 2], iy1 = boxes[ki + 3];
    for (let oj = oi + 1; oj < n; oj++) {
      const j = order[oj];
      if (suppressed[j]) continue;
      const kj = j * 4;
      const w = Math.max(0, Math.min(ix1, boxes[kj + 2]) - Math.max(ix0, boxes[kj]));
      const h = Math.max(0, Math.min(iy1, boxes[kj + 3]) - Math.max(iy0, boxes[kj + 1]));
      const inter = f32(w * h);
      const iou = f32(inter / f32(f32(areas[i] + areas[j]) - inter));
      if (iou > threshold) suppressed[j] = 1;
    }
  }
  return keep;
}
