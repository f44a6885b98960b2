import type { Sa1bFile } from './sa1b.js';

/** Running statistics of one quantity; keeps the values (numbers only) for quantiles. */
class Distribution {
  private readonly values: number[] = [];
  add(v: number): void {
    this.values.push(v);
  }
  summary() {
    const v = Float64Array.from(this.values).sort();
    const q = (p: number) => (v.length ? v[Math.min(v.length - 1, Math.floor(p * v.length))] : NaN);
    const mean = v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
    return { count: v.length, min: v[0] ?? NaN, p10: q(0.1), median: q(0.5), p90: q(0.9), max: v[v.length - 1] ?? NaN, mean };
  }
}

export type DistributionSummary = ReturnType<Distribution['summary']>;

/** What `sam-amg inspect --json` prints: snake_case keys, as every other output of sam-amg. */
export interface InspectReport {
  images: number;
  masks: number;
  masks_per_image: DistributionSummary;
  /** Mask area in pixels. */
  area: DistributionSummary;
  /** Mask area as a fraction of its image. */
  area_fraction: DistributionSummary;
  predicted_iou: DistributionSummary;
  stability_score: DistributionSummary;
  empty_images: number;
}

/** Collects what `sam-amg inspect` reports, one per-image file at a time. */
export class InspectCollector {
  private images = 0;
  private masks = 0;
  private emptyImages = 0;
  private readonly perImage = new Distribution();
  private readonly area = new Distribution();
  private readonly fraction = new Distribution();
  private readonly iou = new Distribution();
  private readonly stability = new Distribution();

  add(file: Sa1bFile): void {
    this.images++;
    this.masks += file.annotations.length;
    this.perImage.add(file.annotations.length);
    if (file.annotations.length === 0) this.emptyImages++;
    const pixels = file.image.width * file.image.height;
    for (const a of file.annotations) {
      this.area.add(a.area);
      this.fraction.add(a.area / pixels);
      this.iou.add(a.predicted_iou);
      this.stability.add(a.stability_score);
    }
  }

  report(): InspectReport {
    return {
      images: this.images,
      masks: this.masks,
      masks_per_image: this.perImage.summary(),
      area: this.area.summary(),
      area_fraction: this.fraction.summary(),
      predicted_iou: this.iou.summary(),
      stability_score: this.stability.summary(),
      empty_images: this.emptyImages,
    };
  }
}

function row(name: string, d: DistributionSummary, digits: number): string {
  const f = (x: number) => (Number.isNaN(x) ? '-' : x.toFixed(digits));
  return `${name.padEnd(18)} ${[d.min, d.p10, d.median, d.mean, d.p90, d.max].map((x) => f(x).padStart(10)).join('')}`;
}

export function formatReport(r: InspectReport): string {
  return [
    `images             ${r.images} (${r.empty_images} without masks)`,
    `masks              ${r.masks}`,
    `${''.padEnd(18)} ${['min', 'p10', 'median', 'mean', 'p90', 'max'].map((h) => h.padStart(10)).join('')}`,
    row('masks per image', r.masks_per_image, 1),
    row('area (px)', r.area, 0),
    row('area / image', r.area_fraction, 4),
    row('predicted_iou', r.predicted_iou, 3),
    row('stability_score', r.stability_score, 3),
  ].join('\n');
}
