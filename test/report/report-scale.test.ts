/**
 * `sam-amg report` at scale: the statistics of a million images in fixed
 * memory (no value list, no spread of one into a call), and a report of
 * thousands of per-image files written as they are read, opened in a real
 * browser.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FineBins, groupBins, histogramSvg, MASK_COUNT_BINS, ReportStatistics } from '../../src/report/plots.js';
import { encodeCountsString } from '../../src/rle/coco-string.js';
import { runCli, tempDir } from '../helpers.js';

const CHROMIUM = process.env.SAM_AMG_CHROMIUM ?? '/usr/bin/chromium';

/** The bar titles of a histogram, in order. */
const barTitles = (svg: string) => [...svg.matchAll(/<title>([^<]*)<\/title>/g)].map((m) => m[1]);
/** The title line of a histogram. */
const titleLine = (svg: string) => /class="title">([^<]*)</.exec(svg)![1];

describe('the statistics of a million images', () => {
  /** Image k has k % 40 masks; mask j of an image: area (j + 0.5) / 40 of it, IoU 0.9 + (j % 10 + 0.5) / 100, stability 1 (even j) or 0.96 (odd j). */
  const IMAGES = 1_000_000;
  const masksOf = (count: number) => Array.from({ length: count }, (_, j) => ({
    area: (j + 0.5) * 250, predicted_iou: 0.9 + ((j % 10) + 0.5) / 100, stability_score: j % 2 ? 0.96 : 1,
  }));
  const byCount = Array.from({ length: 40 }, (_, c) => masksOf(c));
  /** Masks of all images whose index j satisfies `test`: each count c occurs IMAGES / 40 times. */
  const masksWith = (test: (j: number) => boolean) => {
    let n = 0;
    for (let c = 0; c < 40; c++) for (let j = 0; j < c; j++) if (test(j)) n++;
    return n * (IMAGES / 40);
  };
  const totalMasks = masksWith(() => true);
  let statistics: ReportStatistics;
  let seconds: number;
  beforeAll(() => {
    statistics = new ReportStatistics();
    // CPU time of this process, not the clock: other processes on a busy machine do not count.
    const started = process.cpuUsage();
    for (let k = 0; k < IMAGES; k++) statistics.addImage(100, 100, byCount[k % 40]);
    const used = process.cpuUsage(started);
    seconds = (used.user + used.system) / 1e6;
  });

  it('counts every value, in fixed bins, in well under the test time', () => {
    expect(totalMasks).toBe(19_500_000);
    expect(statistics.masksPerImage.total).toBe(IMAGES);
    for (const bins of [statistics.areaFraction, statistics.predictedIou, statistics.stability]) {
      expect(bins.total).toBe(totalMasks);
      expect(bins.counts.length).toBe(1000);
      expect(bins.below + bins.above).toBe(0);
    }
    expect(statistics.masksPerImage.counts.length).toBe(MASK_COUNT_BINS);
    expect(seconds).toBeLessThan(20);
  });

  it('plots masks per image from 0 to the largest count, two counts a bar', () => {
    const shown = groupBins(statistics.masksPerImage, 20, 'range', 'data');
    expect([...shown.counts]).toEqual(Array(20).fill(2 * (IMAGES / 40)));
    const svg = statistics.plots()[0];
    expect(titleLine(svg)).toBe('masks per image (1000000)');
    expect(barTitles(svg)).toEqual(Array.from({ length: 20 }, (_, b) => `${2 * b} – ${2 * b + 1}: 50000`));
    expect(svg).toContain('>0</text><text x="312" y="142" text-anchor="end" class="tick">39</text></svg>');
  });

  it('plots the area over [0, 1] in twenty bars of 5 %', () => {
    const svg = statistics.plots()[1];
    expect(titleLine(svg)).toBe('mask area (fraction of image) (19500000)');
    // Area (j + 0.5) / 40 falls in bar floor(j / 2).
    expect(barTitles(svg)).toEqual(Array.from({ length: 20 }, (_, b) => `${5 * b} % – ${5 * b + 5} %: ${masksWith((j) => Math.floor(j / 2) === b)}`));
  });

  it('plots the scores over the span they fill', () => {
    const iou = groupBins(statistics.predictedIou, 20, 'data', 'data');
    // Fine bins 905 to 995, five a bar: the values fall in every other bar.
    expect(iou.lo).toBe(0.905);
    expect(iou.hi).toBe(1);
    expect([...iou.counts]).toEqual(Array.from({ length: 19 }, (_, b) => (b % 2 ? 0 : masksWith((j) => j % 10 === b / 2))));
    expect(titleLine(statistics.plots()[2])).toBe('predicted IoU (19500000)');
    const stability = groupBins(statistics.stability, 20, 'data', 'data');
    expect([stability.lo, stability.hi]).toEqual([0.96, 1]);
    expect([...stability.counts]).toEqual([masksWith((j) => j % 2 === 1), ...Array(18).fill(0), masksWith((j) => j % 2 === 0)]);
    expect(barTitles(statistics.plots()[3])[19]).toBe(`0.998 – 1: ${masksWith((j) => j % 2 === 0)}`);
  });
});

describe('values outside the bins', () => {
  it('are counted in the end bins, and the plot title says how many', () => {
    const statistics = new ReportStatistics();
    statistics.addImage(10, 10, [
      { area: 50, predicted_iou: 1.02, stability_score: -0.5 },
      { area: 100, predicted_iou: 0.5, stability_score: 0.5 },
      { area: 150, predicted_iou: -3, stability_score: 1 },
    ]);
    statistics.addImage(10, 10, Array.from({ length: 12_000 }, () => ({ area: 1, predicted_iou: 0.5, stability_score: 0.5 })));
    const [perImage, area, iou, stability] = statistics.plots();
    expect(titleLine(perImage)).toBe('masks per image (2; 1 with 10000 masks or more, counted in the last bin)');
    expect(barTitles(perImage)[0]).toBe('0 – 499: 1');
    expect(barTitles(perImage)[19]).toBe('9500 – 9999: 1');
    expect(titleLine(area)).toBe('mask area (fraction of image) (12003; 1 outside [0, 1], counted in the end bins)');
    expect(barTitles(area)[19]).toBe('95 % – 100 %: 2');
    expect(titleLine(iou)).toBe('predicted IoU (12003; 2 outside [0, 1], counted in the end bins)');
    expect(titleLine(stability)).toBe('stability score (12003; 1 outside [0, 1], counted in the end bins)');
    expect(barTitles(stability)).toEqual(['0 – 0.05: 1', ...Array.from({ length: 9 }, (_, b) => `${+(0.05 * (b + 1)).toPrecision(3)} – ${+(0.05 * (b + 2)).toPrecision(3)}: 0`),
      '0.5 – 0.55: 12001', ...Array.from({ length: 8 }, (_, b) => `${+(0.05 * (b + 11)).toPrecision(3)} – ${+(0.05 * (b + 12)).toPrecision(3)}: 0`), '0.95 – 1: 1']);
  });

  it('leave a plot of no values over its whole range', () => {
    const empty = new FineBins(0, 1, 1000);
    const shown = groupBins(empty, 20, 'data', 'data');
    expect([shown.lo, shown.hi, shown.counts.length]).toEqual([0, 1, 20]);
    expect(titleLine(histogramSvg({ title: 'predicted IoU', total: 0, ...shown }))).toBe('predicted IoU (0)');
  });
});

/** Per-image files of `width`×`height` images written as sam-amg writes them: image k has k % 7 masks, mask j the first j + 1 columns. */
function writeOutputs(out: string, count: number, width: number, height: number): string[] {
  const pixels = width * height;
  const masks = Array.from({ length: 7 }, (_, j) => {
    const area = (j + 1) * height;
    return {
      id: j + 1, segmentation: { size: [height, width], counts: encodeCountsString(area < pixels ? [0, area, pixels - area] : [0, area]) },
      area, bbox: [0, 0, j, height - 1], predicted_iou: 0.9 + j / 100, point_coords: [[j / 2, height / 2]], stability_score: 0.95 + j / 200,
      crop_box: [0, 0, width, height],
    };
  });
  const names: string[] = [];
  for (let k = 0; k < count; k++) {
    const name = `part-${String(Math.floor(k / 500)).padStart(2, '0')}/img-${String(k).padStart(5, '0')}.png`;
    mkdirSync(path.join(out, path.dirname(name)), { recursive: true });
    const file = { image: { image_id: k, width, height, file_name: name }, annotations: masks.slice(0, k % 7) };
    writeFileSync(path.join(out, name.replace(/\.png$/, '.json')), JSON.stringify(file));
    names.push(name);
  }
  return names;
}

describe('a report of thousands of per-image files', () => {
  const COUNT = 3000;
  const PICTURED = 10;
  let browser: Browser;
  let work: string;
  let report: string;
  let names: string[];
  let reportSeconds: number;

  beforeAll(async () => {
    work = tempDir('sam-amg-report-scale-');
    const out = path.join(work, 'masks');
    names = writeOutputs(out, COUNT, 8, 6);
    // Pictures of the first few only: the rest share the grey thumbnail.
    const images = path.join(work, 'images');
    for (const name of names.slice(0, PICTURED)) {
      mkdirSync(path.join(images, path.dirname(name)), { recursive: true });
      await sharp({ create: { width: 8, height: 6, channels: 3, background: '#406080' } }).png().toFile(path.join(images, name));
    }
    report = path.join(work, 'report');
    const started = performance.now();
    const res = await runCli(['report', out, '--images', images, '--to', report]);
    reportSeconds = (performance.now() - started) / 1000;
    expect(res.code, res.stderr).toBe(0);
    const masks = names.reduce((n, _, k) => n + (k % 7), 0);
    expect(res.stderr).toMatch(new RegExp(`^sam-amg: report of ${COUNT} images and ${masks} masks in .*; ${COUNT - PICTURED} pictures not found, masks drawn on grey\\n$`));
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('writes one page data file per image, and thumbnails only for images with pictures', () => {
    expect(reportSeconds).toBeLessThan(60);
    expect(readdirSync(path.join(report, 'data/images')).length).toBe(COUNT);
    expect(readdirSync(path.join(report, 'thumbs')).sort()).toEqual([...Array.from({ length: PICTURED }, (_, i) => `${i}.jpg`), 'missing.jpg'].sort());
    const text = readFileSync(path.join(report, 'data/dataset.js'), 'utf8');
    expect(text.startsWith('window.SAM_AMG_DATASET = {"names":["part-00/img-00000.png",')).toBe(true);
    const dataset = JSON.parse(text.slice('window.SAM_AMG_DATASET = '.length, -';\n'.length));
    // Pages in the order of the per-image files' names.
    expect(dataset).toEqual({ names, masks: names.map((_, k) => k % 7), pictured: names.map((_, k) => (k < PICTURED ? 1 : 0)) });
    const last = readFileSync(path.join(report, `data/images/${COUNT - 1}.js`), 'utf8');
    const page = JSON.parse(last.slice('window.SAM_AMG_IMAGE = '.length, -';\n'.length));
    expect(page.name).toBe(names[COUNT - 1]);
    expect(page.src).toBeNull();
    expect(page.masks.map((m: { id: number }) => m.id)).toEqual(Array.from({ length: (COUNT - 1) % 7 }, (_, j) => j + 1));
  });

  async function open(url: string): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 900 });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(url, { waitUntil: 'load' });
    return { page, errors };
  }

  it('pages through all images on the dataset page and plots their counts', async () => {
    const { page, errors } = await open(`file://${report}/index.html`);
    const info = () => page.$eval('#page-info', (e) => e.textContent);
    expect(await info()).toBe(`page 1 of ${COUNT / 100} (${COUNT} images)`);
    const perCount = Array.from({ length: 7 }, (_, c) => names.filter((_, k) => k % 7 === c).length);
    expect(await page.$eval('svg.plot', (s) => [...s.querySelectorAll('rect title')].map((t) => t.textContent))).toEqual(perCount.map((n, c) => `${c}: ${n}`));
    const tiles = () => page.$$eval('.tile', (ts) => ts.map((t) => ({ name: t.querySelector('.name')!.textContent, thumb: t.querySelector('img')!.getAttribute('src') })));
    const first = await tiles();
    expect(first).toHaveLength(100);
    expect(first.slice(0, PICTURED + 1)).toEqual([...names.slice(0, PICTURED).map((name, i) => ({ name, thumb: `thumbs/${i}.jpg` })), { name: names[PICTURED], thumb: 'thumbs/missing.jpg' }]);
    for (let p = 1; p < COUNT / 100; p++) await page.click('#next');
    expect(await info()).toBe(`page ${COUNT / 100} of ${COUNT / 100} (${COUNT} images)`);
    expect((await tiles()).map((t) => t.name)).toEqual(names.slice(COUNT - 100));
    await page.select('#sort', 'masks-desc');
    expect(await page.$$eval('.tile', (ts) => ts.map((t) => Number((t as HTMLElement).dataset.masks)))).toEqual(Array(100).fill(6));
    expect(errors).toEqual([]);
    await page.close();
  });

  it('moves between image pages with the arrow keys, and not past the first or the last', async () => {
    const settle = () => new Promise((r) => setTimeout(r, 300));
    for (const [at, blocked, allowed, to] of [[COUNT - 1, 'ArrowRight', 'ArrowLeft', COUNT - 2], [0, 'ArrowLeft', 'ArrowRight', 1]] as const) {
      const { page, errors } = await open(`file://${report}/image.html?i=${at}`);
      await page.waitForFunction(() => document.getElementById('shown')!.textContent !== '');
      expect(await page.$eval('#name', (e) => e.textContent)).toBe(names[at]);
      await page.keyboard.press(blocked);
      await settle();
      expect(page.url()).toMatch(new RegExp(`image\\.html\\?i=${at}$`));
      await Promise.all([page.waitForNavigation(), page.keyboard.press(allowed)]);
      await page.waitForFunction((name) => document.getElementById('name')!.textContent === name, {}, names[to]);
      expect(errors).toEqual([]);
      await page.close();
    }
  });
});
