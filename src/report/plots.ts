/** Histograms as inline SVG, drawn here: the report needs no chart library and no network. */

export interface Histogram {
  title: string;
  /** Values to bin. */
  values: ArrayLike<number>;
  /** Fixed range of the x axis; the data's own when absent. */
  range?: [number, number];
  bins?: number;
  /** How to print an x-axis value. */
  format?: (x: number) => string;
}

const escape = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** Bin counts of `values` over [lo, hi] in `bins` equal bins (the last one closed). */
export function binCounts(values: ArrayLike<number>, lo: number, hi: number, bins: number): number[] {
  const counts = new Array<number>(bins).fill(0);
  const width = (hi - lo) / bins;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(v >= lo && v <= hi)) continue;
    counts[width > 0 ? Math.min(bins - 1, Math.floor((v - lo) / width)) : 0]++;
  }
  return counts;
}

export function histogramSvg(h: Histogram): string {
  const W = 320;
  const H = 150;
  const pad = { left: 36, right: 8, top: 22, bottom: 28 };
  const bins = h.bins ?? 20;
  const format = h.format ?? ((x: number) => String(+x.toPrecision(3)));
  let lo = h.range?.[0] ?? Infinity;
  let hi = h.range?.[1] ?? -Infinity;
  if (!h.range) for (let i = 0; i < h.values.length; i++) [lo, hi] = [Math.min(lo, h.values[i]), Math.max(hi, h.values[i])];
  if (!(hi >= lo)) [lo, hi] = [0, 1];
  const counts = binCounts(h.values, lo, hi, bins);
  const top = Math.max(1, ...counts);
  const plotW = W - pad.left - pad.right;
  const plotH = H - pad.top - pad.bottom;
  const bars = counts.map((c, i) => {
    const bh = (c / top) * plotH;
    const x = pad.left + (i * plotW) / bins;
    const binLo = lo + ((hi - lo) * i) / bins;
    const binHi = lo + ((hi - lo) * (i + 1)) / bins;
    return `<rect x="${x.toFixed(1)}" y="${(pad.top + plotH - bh).toFixed(1)}" width="${Math.max(1, plotW / bins - 1).toFixed(1)}" height="${bh.toFixed(1)}">` +
      `<title>${escape(`${format(binLo)} – ${format(binHi)}: ${c}`)}</title></rect>`;
  }).join('');
  return `<svg class="plot" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escape(h.title)}">` +
    `<text x="${pad.left}" y="14" class="title">${escape(h.title)} (${h.values.length})</text>` +
    `<line x1="${pad.left}" y1="${pad.top + plotH}" x2="${W - pad.right}" y2="${pad.top + plotH}" class="axis"/>` +
    `<text x="${pad.left - 4}" y="${pad.top + 8}" text-anchor="end" class="tick">${top}</text>` +
    `<text x="${pad.left - 4}" y="${pad.top + plotH}" text-anchor="end" class="tick">0</text>${bars}` +
    `<text x="${pad.left}" y="${H - 8}" class="tick">${escape(format(lo))}</text>` +
    `<text x="${W - pad.right}" y="${H - 8}" text-anchor="end" class="tick">${escape(format(hi))}</text></svg>`;
}
