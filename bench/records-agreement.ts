/** How two runs' records compare: shared by npm run bench and the GPU machine's table (scripts/gpu-bench). */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { decodeCountsString } from '../src/rle/coco-string.js';
import { rleToColumnMajor } from '../src/rle/rle.js';

/**
 * How a configuration's records compare with the first's, image by image:
 * byte-identical files, else the masks whose segmentation differs and by how
 * many pixels, and the largest difference of predicted IoU and stability score.
 */
export function recordsAgreement(firstDir: string, dir: string) {
  let identical = 0;
  let files = 0;
  let masks = 0;
  let changedMasks = 0;
  let pixels = 0;
  let countsDiffer = 0;
  let maxIou = 0;
  let maxStability = 0;
  for (const name of readdirSync(firstDir).filter((f) => f.endsWith('.json') && !f.startsWith('.'))) {
    files++;
    const [a, b] = [readFileSync(path.join(firstDir, name), 'utf8'), existsSync(path.join(dir, name)) ? readFileSync(path.join(dir, name), 'utf8') : ''];
    if (a === b) {
      identical++;
      masks += JSON.parse(a).annotations.length;
      continue;
    }
    const [x, y] = [JSON.parse(a).annotations as Annotation[], b ? JSON.parse(b).annotations as Annotation[] : []];
    masks += x.length;
    if (x.length !== y.length) {
      countsDiffer++;
      continue;
    }
    x.forEach((m, k) => {
      const n = y[k];
      maxIou = Math.max(maxIou, Math.abs(m.predicted_iou - n.predicted_iou));
      maxStability = Math.max(maxStability, Math.abs(m.stability_score - n.stability_score));
      if (m.segmentation.counts === n.segmentation.counts) return;
      changedMasks++;
      const [p, q] = [m, n].map((t) => rleToColumnMajor({ size: t.segmentation.size, counts: decodeCountsString(t.segmentation.counts) }));
      for (let i = 0; i < p.length; i++) if (p[i] !== q[i]) pixels++;
    });
  }
  const summary = identical === files ? 'identical'
    : `${files - identical}/${files} files differ; ${countsDiffer} in mask count; ${changedMasks}/${masks} masks, ${pixels} px; max Δ IoU ${maxIou.toExponential(1)}, Δ stability ${maxStability.toExponential(1)}`;
  return { files, identical, masks, countsDiffer, changedMasks, pixels, maxIou, maxStability, summary };
}

interface Annotation { predicted_iou: number; stability_score: number; bbox: number[]; segmentation: { size: [number, number]; counts: string } }

/**
 * How well a configuration's masks match the first's where they are not the
 * same records: recall, the first's masks with a mask of this one at mask
 * IoU ≥ 0.9, and precision, this one's masks with such a match in the first.
 */
export function maskMatches(firstDir: string, dir: string): { recall: number; precision: number; summary: string } {
  let [found, reference, matched, produced] = [0, 0, 0, 0];
  for (const name of readdirSync(firstDir).filter((f) => f.endsWith('.json') && !f.startsWith('.'))) {
    const read = (d: string) => (existsSync(path.join(d, name)) ? JSON.parse(readFileSync(path.join(d, name), 'utf8')).annotations as Annotation[] : []);
    const [x, y] = [read(firstDir), read(dir)];
    const decode = (a: Annotation) => rleToColumnMajor({ size: a.segmentation.size, counts: decodeCountsString(a.segmentation.counts) });
    const [mx, my] = [x.map(decode), y.map(decode)];
    const overlaps = (a: Annotation, b: Annotation) => a.bbox[0] <= b.bbox[0] + b.bbox[2] && b.bbox[0] <= a.bbox[0] + a.bbox[2]
      && a.bbox[1] <= b.bbox[1] + b.bbox[3] && b.bbox[1] <= a.bbox[1] + a.bbox[3];
    const iou = (p: Uint8Array, q: Uint8Array) => {
      let [inter, union] = [0, 0];
      for (let i = 0; i < p.length; i++) {
        inter += p[i] & q[i];
        union += p[i] | q[i];
      }
      return union ? inter / union : 0;
    };
    const good = x.map((a, i) => y.map((b, j) => overlaps(a, b) && iou(mx[i], my[j]) >= 0.9));
    reference += x.length;
    produced += y.length;
    found += good.filter((row) => row.some(Boolean)).length;
    matched += y.filter((_, j) => good.some((row) => row[j])).length;
  }
  const recall = reference ? found / reference : 1;
  const precision = produced ? matched / produced : 1;
  return { recall, precision, summary: `recall ${recall.toFixed(3)} (${found}/${reference}), precision ${precision.toFixed(3)} (${matched}/${produced}) at mask IoU ≥ 0.9` };
}

