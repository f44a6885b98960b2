/**
 * The report's statistics and histograms. Values are counted into fixed,
 * fine bins as they are read, so the memory is the same for ten images or
 * a million; the plots group those bins. Drawn here as inline SVG: the
 * report needs no chart library and no network.
 */
import { escapeHtml } from './escape.js';

/**
 * Counts of values in `bins` equal bins over [lo, hi] (the last one closed).
 * A value outside the range is counted in the end bin on its side, and in
 * `below` or `above`, so a plot can say so (a value that is no number counts
 * as below).
 */
export class FineBins {
  readonly counts: Float64Array;
  total = 0;
  below = 0;
  above = 0;
  private readonly perUnit: number;

  constructor(readonly lo: number, readonly hi: number, readonly bins: number) {
    this.counts = new Float64Array(bins);
    this.perUnit = bins / (hi - lo);
  }

  add(value: number): void {
    this.total++;
    let bin: number;
    if (value > this.hi) {
      this.above++;
      bin = this.bins - 1;
    } else if (value >= this.lo) {
      bin = Math.min(this.bins - 1, Math.floor((value - this.lo) * this.perUnit));
    } else {
      this.below++;
      bin = 0;
    }
    this.counts[bin]++;
  }

  /** The value where fine bin `k` starts. */
  edge(k: number): number {
    return this.lo + ((this.hi - this.lo) * k) / this.bins;
  }
}

/** Where a plot's x axis starts and ends: at the bins' own range, or at the first and last bin holding a value. */
export type AxisEnd = 'range' | 'data';

/** The bins a plot shows: equal groups of fine bins, over [lo, hi]. */
export interface ShownBins {
  counts: Float64Array;
  lo: number;
  hi: number;
}

/** At most `most` bins, each a whole number of fine bins, covering the span `from`..`to` chooses. */
export function groupBins(fine: FineBins, most: number, from: AxisEnd, to: AxisEnd): ShownBins {
  let first = 0;
  let last = fine.bins - 1;
  // With no values there is no data to fit: the whole range.
  if (fine.total > 0) {
    if (from === 'data') while (first < last && fine.counts[first] === 0) first++;
    if (to === 'data') while (last > first && fine.counts[last] === 0) last--;
  }
  const span = last - first + 1;
  const width = Math.ceil(span / most);
  const shown = Math.ceil(span / width);
  // Groups that would run past the last fine bin start earlier instead.
  const start = Math.max(0, Math.min(first, fine.bins - shown * width));
  const counts = new Float64Array(shown);
  const end = Math.min(fine.bins, start + shown * width);
  for (let k = start; k < end; k++) counts[Math.floor((k - start) / width)] += fine.counts[k];
  return { counts, lo: fine.edge(start), hi: fine.edge(start + shown * width) };
}

export interface Histogram extends ShownBins {
  title: string;
  /** Values counted. */
  total: number;
  /** Said after the count in the title (values counted in the end bins). */
  note?: string;
  /** How to print an x-axis value. */
  format?: (x: number) => string;
  /** Bins hold whole numbers centred on them ([k - 0.5, k + 0.5) is k): labels name the numbers. */
  integers?: boolean;
}

/** The largest of `values` (0 for none), without spreading them into a call. */
export function largest(values: ArrayLike<number>): number {
  let top = 0;
  for (let i = 0; i < values.length; i++) if (values[i] > top) top = values[i];
  return top;
}

export function histogramSvg(h: Histogram): string {
  const W = 320;
  const H = 150;
  const pad = { left: 36, right: 8, top: 22, bottom: 28 };
  const bins = h.counts.length;
  const format = h.format ?? ((x: number) => String(+x.toPrecision(3)));
  // Whole-number bins are named by the first and last number they hold.
  const firstIn = (x: number) => (h.integers ? String(Math.ceil(x)) : format(x));
  const lastIn = (x: number) => (h.integers ? String(Math.ceil(x) - 1) : format(x));
  const top = Math.max(1, largest(h.counts));
  const plotW = W - pad.left - pad.right;
  const plotH = H - pad.top - pad.bottom;
  let bars = '';
  for (let i = 0; i < bins; i++) {
    const c = h.counts[i];
    const bh = (c / top) * plotH;
    const x = pad.left + (i * plotW) / bins;
    const binLo = h.lo + ((h.hi - h.lo) * i) / bins;
    const binHi = h.lo + ((h.hi - h.lo) * (i + 1)) / bins;
    const range = h.integers && firstIn(binLo) === lastIn(binHi) ? firstIn(binLo) : `${firstIn(binLo)} – ${lastIn(binHi)}`;
    bars += `<rect x="${x.toFixed(1)}" y="${(pad.top + plotH - bh).toFixed(1)}" width="${Math.max(1, plotW / bins - 1).toFixed(1)}" height="${bh.toFixed(1)}">` +
      `<title>${escapeHtml(`${range}: ${c}`)}</title></rect>`;
  }
  return `<svg class="plot" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(h.title)}">` +
    `<text x="${pad.left}" y="14" class="title">${escapeHtml(`${h.title} (${h.total}${h.note ? `; ${h.note}` : ''})`)}</text>` +
    `<line x1="${pad.left}" y1="${pad.top + plotH}" x2="${W - pad.right}" y2="${pad.top + plotH}" class="axis"/>` +
    `<text x="${pad.left - 4}" y="${pad.top + 8}" text-anchor="end" class="tick">${top}</text>` +
    `<text x="${pad.left - 4}" y="${pad.top + plotH}" text-anchor="end" class="tick">0</text>${bars}` +
    `<text x="${pad.left}" y="${H - 8}" class="tick">${escapeHtml(firstIn(h.lo))}</text>` +
    `<text x="${W - pad.right}" y="${H - 8}" text-anchor="end" class="tick">${escapeHtml(lastIn(h.hi))}</text></svg>`;
}

/** Fine bins of masks per image: one per count up to this, larger counts in the last. */
export const MASK_COUNT_BINS = 10_000;
/** Fine bins over [0, 1] of the area fraction, predicted IoU and stability score. */
export const SCORE_BINS = 1000;

/** What the dataset page plots, counted image by image in fixed memory. */
export class ReportStatistics {
  readonly masksPerImage = new FineBins(-0.5, MASK_COUNT_BINS - 0.5, MASK_COUNT_BINS);
  readonly areaFraction = new FineBins(0, 1, SCORE_BINS);
  readonly predictedIou = new FineBins(0, 1, SCORE_BINS);
  readonly stability = new FineBins(0, 1, SCORE_BINS);

  addImage(width: number, height: number, masks: readonly { area: number; predicted_iou: number; stability_score: number }[]): void {
    this.masksPerImage.add(masks.length);
    const pixels = width * height;
    for (const m of masks) {
      this.areaFraction.add(m.area / pixels);
      this.predictedIou.add(m.predicted_iou);
      this.stability.add(m.stability_score);
    }
  }

  /** The four plots: masks per image from 0, area over [0, 1], the scores over the span they fill. */
  plots(): string[] {
    const percent = (x: number) => `${+(100 * x).toPrecision(3)} %`;
    const perImage = this.masksPerImage;
    return [
      histogramSvg({
        title: 'masks per image', total: perImage.total, integers: true, ...groupBins(perImage, 20, 'range', 'data'),
        note: perImage.above ? `${perImage.above} with ${MASK_COUNT_BINS} masks or more, counted in the last bin` : undefined,
      }),
      histogramSvg({ title: 'mask area (fraction of image)', ...this.scorePlot(this.areaFraction, 'range'), format: percent }),
      histogramSvg({ title: 'predicted IoU', ...this.scorePlot(this.predictedIou, 'data') }),
      histogramSvg({ title: 'stability score', ...this.scorePlot(this.stability, 'data') }),
    ];
  }

  private scorePlot(fine: FineBins, span: AxisEnd) {
    const outside = fine.below + fine.above;
    return {
      total: fine.total, ...groupBins(fine, 20, span, span),
      note: outside ? `${outside} outside [0, 1], counted in the end bins` : undefined,
    };
  }
}
