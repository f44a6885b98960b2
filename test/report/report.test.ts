/**
 * `sam-amg report`: the review site, opened from disk in a real browser
 * (Debian's chromium, driven headless by puppeteer-core; nothing downloaded).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pictureLocation } from '../../src/report/build-report.js';
import { decodeCountsString } from '../../src/rle/coco-string.js';
import { rleToRowMajor } from '../../src/rle/rle.js';
import { VERSION } from '../../src/version.js';
import { PHOTO_NAMES, PHOTOS, runCli, tempDir, TINY } from '../helpers.js';

const CHROMIUM = process.env.SAM_AMG_CHROMIUM ?? '/usr/bin/chromium';

let browser: Browser;
let work: string;
let out: string;
let report: string;
let shots: string;
const outputs = new Map<string, { image: { width: number; height: number }; annotations: { segmentation: { size: [number, number]; counts: string }; predicted_iou: number }[] }>();

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`the report tests need a browser: ${CHROMIUM} is missing (apt-get install chromium, or set SAM_AMG_CHROMIUM)`);
  work = tempDir('sam-amg-report-');
  const images = path.join(work, 'images');
  mkdirSync(images);
  for (const name of PHOTO_NAMES) copyFileSync(path.join(PHOTOS, `${name}.jpg`), path.join(images, `${name}.jpg`));
  writeFileSync(path.join(images, 'broken.jpg'), 'not a jpeg');
  out = path.join(work, 'masks');
  const run = await runCli([images, '--out', out, '--model', TINY, '--points-per-side', '16']);
  expect(run.code).toBe(1);
  for (const name of PHOTO_NAMES) outputs.set(`${name}.jpg`, JSON.parse(readFileSync(path.join(out, `${name}.json`), 'utf8')));
  writeFileSync(path.join(out, 'torn.json'), '{"image": {"image_id": 1');
  report = path.join(work, 'report');
  const res = await runCli(['report', out, '--images', images, '--to', report]);
  // Exit 1: the torn file is listed as unreadable, and the rest of the report is written.
  expect(res.code, res.stderr).toBe(1);
  expect(res.stderr).toMatch(/torn\.json: not valid JSON/);
  // A folder that is not a report is never replaced; an earlier report is.
  const precious = path.join(work, 'precious');
  mkdirSync(precious);
  writeFileSync(path.join(precious, 'notes.txt'), 'mine');
  const refused = await runCli(['report', out, '--to', precious]);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(/precious: the folder exists and is not a sam-amg report/);
  expect(readFileSync(path.join(precious, 'notes.txt'), 'utf8')).toBe('mine');
  const again = await runCli(['report', out, '--images', images, '--to', report]);
  expect(again.code).toBe(1);
  shots = path.join(work, 'screenshots');
  mkdirSync(shots);
  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

async function open(url: string): Promise<Page> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1200, height: 900 });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  // From disk, as a user opens it: nothing may be fetched from anywhere else.
  page.on('request', (r) => { if (!r.url().startsWith('file://')) errors.push(`fetched ${r.url()}`); });
  await page.goto(url, { waitUntil: 'load' });
  (page as unknown as { errors: string[] }).errors = errors;
  return page;
}

const text = (page: Page, selector: string) => page.$eval(selector, (e) => e.textContent ?? '');

describe('the dataset page', () => {
  it('counts images, masks, failures and unreadable files, and shows a thumbnail with its mask count per image', async () => {
    const page = await open(`file://${report}/index.html`);
    const total = [...outputs.values()].reduce((n, o) => n + o.annotations.length, 0);
    expect(await text(page, '#n-images')).toBe(String(outputs.size));
    expect(await text(page, '#n-masks')).toBe(String(total));
    expect(await text(page, '#n-failures')).toBe('1');
    expect(await text(page, '#n-unreadable')).toBe('1');
    expect(await text(page, '.problems')).toMatch(/failed: .*broken\.jpg.*unreadable: torn\.json: not valid JSON/s);
    const tiles = await page.$$eval('.tile', (ts) => ts.map((t) => ({ name: t.querySelector('.name')!.textContent, masks: Number((t as HTMLElement).dataset.masks),
      loaded: (t.querySelector('img') as HTMLImageElement).naturalWidth > 0 })));
    expect(tiles.map((t) => t.name)).toEqual([...outputs.keys()].sort());
    for (const t of tiles) expect(t.masks, t.name!).toBe(outputs.get(t.name!)!.annotations.length);
    expect(tiles.every((t) => t.loaded)).toBe(true);
    expect(await page.$$eval('svg.plot .title', (ts) => ts.map((t) => t.textContent))).toEqual([
      `masks per image (${outputs.size})`, `mask area (fraction of image) (${total})`, `predicted IoU (${total})`, `stability score (${total})`]);
    // Every value is in one of the bars a plot shows.
    const barSums = await page.$$eval('svg.plot', (plots) => plots.map((p) => [...p.querySelectorAll('rect title')]
      .reduce((n, t) => n + Number(/: (\d+)$/.exec(t.textContent!)![1]), 0)));
    expect(barSums).toEqual([outputs.size, total, total, total]);
    expect(await page.$$eval('.tile img', (is) => is.map((i) => i.getAttribute('src')))).toEqual([...outputs.keys()].map((_, i) => `thumbs/${i}.jpg`));
    await page.select('#sort', 'masks-desc');
    const sorted = await page.$$eval('.tile', (ts) => ts.map((t) => Number((t as HTMLElement).dataset.masks)));
    expect(sorted).toEqual([...sorted].sort((a, b) => b - a));
    await page.screenshot({ path: path.join(shots, 'dataset.png'), fullPage: true });
    expect((page as unknown as { errors: string[] }).errors).toEqual([]);
    await page.close();
  });
});

describe('a report without the pictures', () => {
  it('draws the masks on grey and gives every image the one grey thumbnail', async () => {
    const bare = path.join(work, 'bare-report');
    const res = await runCli(['report', out, '--to', bare]);
    expect(res.stderr).toMatch(new RegExp(`${outputs.size} pictures not found \\(pass --images DIR\\), masks drawn on grey`));
    // One file shared by every tile, not a copy per image.
    expect(readdirSync(path.join(bare, 'thumbs'))).toEqual(['missing.jpg']);
    expect(readdirSync(path.join(bare, 'pictures'))).toEqual([]);
    const index = await open(`file://${bare}/index.html`);
    const thumbs = await index.$$eval('.tile img', (is) => is.map((i) => ({ src: i.getAttribute('src'), loaded: (i as HTMLImageElement).naturalWidth > 0 })));
    expect(thumbs).toEqual([...outputs.keys()].map(() => ({ src: 'thumbs/missing.jpg', loaded: true })));
    expect((index as unknown as { errors: string[] }).errors).toEqual([]);
    await index.close();
    const page = await open(`file://${bare}/image.html?i=0`);
    await page.waitForFunction(() => document.getElementById('shown')!.textContent !== '');
    expect(await text(page, '.missing')).toBe('image not found');
    expect(await text(page, '#shown')).toMatch(/^(\d+) of \1 masks shown$/);
    await page.close();
  });
});

/** Every file under `dir`, by its relative name, with its bytes: a folder to compare before and after. */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) files[path.relative(dir, path.join(e.parentPath, e.name))] = readFileSync(path.join(e.parentPath, e.name)).toString('base64');
  }
  return files;
}

describe('the report folder', () => {
  it('is marked as a report sam-amg wrote', () => {
    expect(JSON.parse(readFileSync(path.join(report, '.sam-amg-report.json'), 'utf8'))).toEqual({ tool: 'sam-amg', version: VERSION, kind: 'report', from: out });
  });

  it('refuses a folder whose data/dataset.js sam-amg did not write, or whose marker names another tool, and leaves it byte-identical', async () => {
    const lookalike = path.join(work, 'lookalike');
    mkdirSync(path.join(lookalike, 'data'), { recursive: true });
    writeFileSync(path.join(lookalike, 'data/dataset.js'), 'window.MY_OWN_DATA = [1, 2, 3];\n');
    const otherMarker = path.join(work, 'other-marker');
    mkdirSync(otherMarker);
    writeFileSync(path.join(otherMarker, '.sam-amg-report.json'), '{"tool":"not-sam-amg"}\n');
    writeFileSync(path.join(otherMarker, 'notes.txt'), 'mine');
    for (const folder of [lookalike, otherMarker]) {
      const before = snapshot(folder);
      const res = await runCli(['report', out, '--to', folder]);
      expect(res.code, res.stderr).toBe(2);
      expect(res.stderr).toContain(`--to ${folder}: the folder exists and is not a sam-amg report; it would be replaced: choose another`);
      expect(snapshot(folder)).toEqual(before);
    }
    expect(Object.keys(snapshot(lookalike))).toEqual(['data/dataset.js']);
  });

  it('replaces a folder marked as a report, and a report from before the marker, as a whole', async () => {
    const marked = path.join(work, 'marked');
    mkdirSync(marked);
    writeFileSync(path.join(marked, '.sam-amg-report.json'), '{"tool":"sam-amg"}\n');
    writeFileSync(path.join(marked, 'left-over.txt'), 'old');
    const earlier = path.join(work, 'earlier');
    mkdirSync(path.join(earlier, 'data'), { recursive: true });
    mkdirSync(path.join(earlier, 'thumbs'));
    writeFileSync(path.join(earlier, 'data/dataset.js'), 'window.SAM_AMG_DATASET = {"images":[]};\n');
    writeFileSync(path.join(earlier, 'thumbs/7.jpg'), 'old thumbnail');
    for (const folder of [marked, earlier]) {
      const res = await runCli(['report', out, '--to', folder]);
      // Exit 1: the torn file is listed as unreadable.
      expect(res.code, res.stderr).toBe(1);
      const files = Object.keys(snapshot(folder)).sort();
      expect(files).toEqual(['.sam-amg-report.json', 'data/dataset.js', ...[...outputs.keys()].map((_, i) => `data/images/${i}.js`), 'image.html', 'index.html', 'thumbs/missing.jpg'].sort());
    }
  });

  it('refuses a file as --to, and an output folder inside --to, changing nothing', async () => {
    const file = path.join(work, 'a-file');
    writeFileSync(path.join(work, 'a-file'), 'mine');
    const res = await runCli(['report', out, '--to', file]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`--to ${file}: is not a folder: choose another`);
    expect(readFileSync(file, 'utf8')).toBe('mine');
    // A marked folder that holds the outputs: replacing it would take them away.
    const holder = path.join(work, 'holder');
    cpSync(out, path.join(holder, 'masks'), { recursive: true });
    writeFileSync(path.join(holder, '.sam-amg-report.json'), '{"tool":"sam-amg"}\n');
    const before = snapshot(holder);
    const inside = await runCli(['report', path.join(holder, 'masks'), '--to', holder]);
    expect(inside.code).toBe(2);
    expect(inside.stderr).toContain(`--to ${holder}: holds the output folder ${path.join(holder, 'masks')}, which the report would replace: choose another`);
    expect(snapshot(holder)).toEqual(before);
  });

  it('may lie inside the output folder: a report made again there does not read its own marker as an output', async () => {
    const copy = path.join(tempDir(), 'masks');
    cpSync(out, copy, { recursive: true });
    const inside = path.join(copy, 'review');
    for (let k = 0; k < 2; k++) {
      const res = await runCli(['report', copy, '--to', inside]);
      expect(res.code, res.stderr).toBe(1);
      // One file named as unreadable: the torn one.
      const named = res.stderr.split('\n').filter((l) => l.startsWith(`sam-amg: ${copy}`));
      expect(named).toHaveLength(1);
      expect(named[0]).toMatch(new RegExp(`^sam-amg: ${copy}/torn\\.json: not valid JSON`));
    }
    expect(existsSync(path.join(inside, '.sam-amg-report.json'))).toBe(true);
    expect(readdirSync(path.join(inside, 'data/images'))).toHaveLength(outputs.size);
  });

  it('removes the temporary folder a killed report on this machine left beside it, and no other', async () => {
    const parent = tempDir();
    const to = path.join(parent, 'report');
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const stale = `report.${hostname()}.${dead}.0badc0de.tmp`;
    // Alive (this test's process), and another machine's: neither is this report's to remove.
    const alive = `report.${hostname()}.${process.pid}.89abcdef.tmp`;
    const elsewhere = `report.other-host.example.${dead}.01234567.tmp`;
    for (const name of [stale, alive, elsewhere]) {
      mkdirSync(path.join(parent, name, 'data'), { recursive: true });
      writeFileSync(path.join(parent, name, 'data/dataset.js'), 'window.SAM_AMG_DATASET = {"na');
    }
    const res = await runCli(['report', out, '--to', to]);
    expect(res.code, res.stderr).toBe(1);
    expect(readdirSync(parent).sort()).toEqual([alive, elsewhere, 'report'].sort());
  });
});

describe('pictures', () => {
  it('are looked for only inside --images: a file_name that climbs out of it has no picture', () => {
    expect(pictureLocation('/data/images', 'a/b.jpg')).toBe('/data/images/a/b.jpg');
    expect(pictureLocation('/data/images', '/etc/passwd')).toBe('/data/images/etc/passwd');
    expect(pictureLocation('/data/images', '../secret.jpg')).toBeUndefined();
    expect(pictureLocation('/data/images', 'a/../../secret.jpg')).toBeUndefined();
    expect(pictureLocation('s3://bucket/images', '../other/x.jpg')).toBeUndefined();
    expect(pictureLocation('https://example.com/images', 'a b/c#d.jpg')).toBe('https://example.com/images/a%20b/c%23d.jpg');
  });
});

describe('an image page', () => {
  it('draws every mask, hides those under the IoU slider (a pixel only in a hidden mask loses its colour), and moves with the arrow keys', async () => {
    const names = [...outputs.keys()].sort();
    // The image with the most masks.
    const index = names.reduce((best, n, i) => (outputs.get(n)!.annotations.length > outputs.get(names[best])!.annotations.length ? i : best), 0);
    const data = outputs.get(names[index])!;
    const { width: W, height: H } = data.image;
    const masks = data.annotations.map((a) => rleToRowMajor({ size: a.segmentation.size, counts: decodeCountsString(a.segmentation.counts) }));
    // The lowest-scoring mask, and a pixel that no other mask covers.
    const low = data.annotations.reduce((b, a, k) => (a.predicted_iou < data.annotations[b].predicted_iou ? k : b), 0);
    let pixel = -1;
    for (let p = 0; p < W * H && pixel < 0; p++) if (masks[low][p] && masks.every((m, k) => k === low || !m[p])) pixel = p;
    expect(pixel).toBeGreaterThanOrEqual(0);
    const [x, y] = [pixel % W, Math.floor(pixel / W)];

    const page = await open(`file://${report}/image.html?i=${index}`);
    await page.waitForFunction(() => document.getElementById('shown')!.textContent !== '');
    // The picture sets the stage's size, and with it where the overlay sits.
    await page.waitForFunction(() => (document.getElementById('picture') as HTMLImageElement).complete);
    const n = data.annotations.length;
    expect(await text(page, '#name')).toBe(names[index]);
    expect(await text(page, '#shown')).toBe(`${n} of ${n} masks shown`);
    const rgba = () => page.$eval('#overlay', (c, px, py) => Array.from((c as HTMLCanvasElement).getContext('2d')!.getImageData(px, py, 1, 1).data), x, y);
    const before = await rgba();
    expect(before[3]).toBeGreaterThan(0);
    await page.screenshot({ path: path.join(shots, 'image-all.png'), fullPage: true });

    const cut = data.annotations[low].predicted_iou + 1e-6;
    await page.$eval('#min-iou', (el, v) => {
      (el as HTMLInputElement).value = String(v);
      el.dispatchEvent(new Event('input'));
    }, cut);
    const kept = data.annotations.filter((a) => a.predicted_iou >= cut).length;
    expect(kept).toBeLessThan(n);
    expect(await text(page, '#shown')).toBe(`${kept} of ${n} masks shown`);
    const after = await rgba();
    expect(after).not.toEqual(before);
    expect(after[3]).toBe(0);
    await page.screenshot({ path: path.join(shots, 'image-filtered.png'), fullPage: true });

    // Pointing at the pixel of a visible mask names it.
    const high = data.annotations.reduce((b, a, k) => (a.predicted_iou > data.annotations[b].predicted_iou ? k : b), 0);
    const hp = masks[high].findIndex((v, p) => v && masks.every((m, k) => k === high || !m[p]));
    expect(hp).toBeGreaterThanOrEqual(0);
    {
      const box = (await (await page.$('#overlay'))!.boundingBox())!;
      await page.mouse.move(box.x + ((hp % W) + 0.5) * (box.width / W), box.y + (Math.floor(hp / W) + 0.5) * (box.height / H));
      expect(await text(page, '#details')).toMatch(new RegExp(`^mask ${high + 1}: area ${(data.annotations[high] as unknown as { area: number }).area} px`));
    }

    const next = index + 1 < names.length ? index + 1 : index - 1;
    await Promise.all([page.waitForNavigation(), page.keyboard.press(next > index ? 'ArrowRight' : 'ArrowLeft')]);
    expect(page.url()).toMatch(new RegExp(`image\\.html\\?i=${next}$`));
    await page.waitForFunction((name) => document.getElementById('name')!.textContent === name, {}, names[next]);
    expect((page as unknown as { errors: string[] }).errors).toEqual([]);
    await page.close();
    expect(readdirSync(shots).sort()).toEqual(['dataset.png', 'image-all.png', 'image-filtered.png']);
  });
});

describe('reviewing: rejecting masks and exporting without them', () => {
  /** The annotation ids and a pixel only that mask covers, for the masks of one image that have such a pixel. */
  function exclusivePixels(name: string): { id: number; pixel: number }[] {
    const data = outputs.get(name)! as unknown as { image: { width: number; height: number }; annotations: { id: number; segmentation: { size: [number, number]; counts: string } }[] };
    const masks = data.annotations.map((a) => rleToRowMajor({ size: a.segmentation.size, counts: decodeCountsString(a.segmentation.counts) }));
    return data.annotations.flatMap((a, k) => {
      const pixel = masks[k].findIndex((v, p) => v && masks.every((m, j) => j === k || !m[p]));
      return pixel >= 0 ? [{ id: a.id, pixel }] : [];
    });
  }

  async function pointAt(page: Page, name: string, pixel: number, click: boolean): Promise<void> {
    const { width: W, height: H } = outputs.get(name)!.image;
    const box = (await (await page.$('#overlay'))!.boundingBox())!;
    const [x, y] = [box.x + ((pixel % W) + 0.5) * (box.width / W), box.y + (Math.floor(pixel / W) + 0.5) * (box.height / H)];
    if (click) await page.mouse.click(x, y);
    else await page.mouse.move(x, y);
  }

  async function openImage(index: number): Promise<Page> {
    const page = await open(`file://${report}/image.html?i=${index}`);
    await page.waitForFunction(() => document.getElementById('shown')!.textContent !== '');
    await page.waitForFunction(() => (document.getElementById('picture') as HTMLImageElement).complete);
    return page;
  }

  it('rejects two masks on two images (button and key), keeps them across pages, counts them, downloads rejections.json, and export leaves exactly those out', async () => {
    const names = [...outputs.keys()].sort();
    const first = await open(`file://${report}/index.html`);
    await first.evaluate(() => localStorage.clear());
    await first.close();

    // Image 0: pin a mask, reject it with the button; reject and restore another with the key.
    const [a, c] = exclusivePixels(names[0]);
    const page = await openImage(0);
    const n0 = outputs.get(names[0])!.annotations.length;
    await pointAt(page, names[0], a.pixel, true);
    expect(await text(page, '#details-text')).toMatch(new RegExp(`^mask ${a.id}: `));
    await page.click('#reject');
    expect(await text(page, '#shown')).toBe(`${n0 - 1} of ${n0} masks shown`);
    expect(await text(page, '#rejected')).toBe(`rejected: restore mask ${a.id}`);
    const { width: W0 } = outputs.get(names[0])!.image;
    const alpha = await page.$eval('#overlay', (cv, px, py) => (cv as HTMLCanvasElement).getContext('2d')!.getImageData(px, py, 1, 1).data[3], a.pixel % W0, Math.floor(a.pixel / W0));
    expect(alpha).toBe(0);
    await pointAt(page, names[0], c.pixel, false);
    await page.keyboard.press('r');
    expect(await text(page, '#rejected')).toBe(`rejected: restore mask ${a.id}restore mask ${c.id}`);
    await page.click(`#rejected button[data-id="${c.id}"]`);
    expect(await text(page, '#rejected')).toBe(`rejected: restore mask ${a.id}`);
    expect(await text(page, '#command')).toBe(`sam-amg export ${out} --format yolo --to labels --reject rejections.json`);

    // Image 1, reached with the arrow key: reject one with the key.
    await Promise.all([page.waitForNavigation(), page.keyboard.press('ArrowRight')]);
    await page.waitForFunction((name) => document.getElementById('name')!.textContent === name, {}, names[1]);
    await page.waitForFunction(() => (document.getElementById('picture') as HTMLImageElement).complete);
    const [b] = exclusivePixels(names[1]);
    await pointAt(page, names[1], b.pixel, false);
    await page.keyboard.press('r');
    expect(await text(page, '#rejected')).toBe(`rejected: restore mask ${b.id}`);
    // And back: image 0's rejection is still there.
    await Promise.all([page.waitForNavigation(), page.keyboard.press('ArrowLeft')]);
    await page.waitForFunction(() => document.getElementById('rejected')!.textContent !== '');
    expect(await text(page, '#rejected')).toBe(`rejected: restore mask ${a.id}`);
    // The sliders go into the command too, on this page and the others.
    await page.$eval('#min-iou', (el) => {
      (el as HTMLInputElement).value = '0.9';
      el.dispatchEvent(new Event('input'));
    });
    expect(await text(page, '#command')).toBe(`sam-amg export ${out} --format yolo --to labels --min-predicted-iou 0.9 --reject rejections.json`);
    expect((page as unknown as { errors: string[] }).errors).toEqual([]);
    await page.close();

    // The dataset page counts them, shows the command and downloads the file.
    const index = await open(`file://${report}/index.html`);
    expect(await text(index, '#n-rejected')).toBe('2');
    await index.select('#export-format', 'coco');
    expect(await text(index, '#command')).toBe(`sam-amg export ${out} --format coco --to annotations.json --min-predicted-iou 0.9 --reject rejections.json`);
    expect(await index.$$eval('.tile .count', (ts) => ts.map((t) => t.textContent))).toEqual(
      names.map((name, i) => `${outputs.get(name)!.annotations.length} masks${i < 2 ? ', 1 rejected' : ''}`));
    const downloads = tempDir();
    const session = await index.createCDPSession();
    await session.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
    await index.click('#download');
    const file = path.join(downloads, 'rejections.json');
    for (let t = 0; t < 100 && !existsSync(file); t++) await new Promise((r) => setTimeout(r, 50));
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ [names[0]]: [a.id], [names[1]]: [b.id] });
    await index.screenshot({ path: path.join(work, 'review-dataset.png') });
    expect((index as unknown as { errors: string[] }).errors).toEqual([]);
    await index.close();

    // Exported with it: exactly those two masks are absent.
    const coco = path.join(tempDir(), 'reviewed.json');
    const res = await runCli(['export', out, '--format', 'coco', '--to', coco, '--reject', file]);
    // Exit 1: the torn file in the folder is named and skipped.
    expect(res.code, res.stderr).toBe(1);
    const merged = JSON.parse(readFileSync(coco, 'utf8'));
    const fileOf = new Map(merged.images.map((im: { id: number; file_name: string }) => [im.id, im.file_name]));
    const got = merged.annotations.map((ann: { image_id: number; segmentation: { counts: string } }) => `${fileOf.get(ann.image_id)} ${ann.segmentation.counts}`).sort();
    const all = [...outputs.entries()].flatMap(([name, o]) => (o.annotations as unknown as { id: number; segmentation: { counts: string } }[])
      .filter((ann) => !(name === names[0] && ann.id === a.id) && !(name === names[1] && ann.id === b.id))
      .map((ann) => `${name} ${ann.segmentation.counts}`)).sort();
    expect(got).toEqual(all);
    expect(merged.annotations.length).toBe([...outputs.values()].reduce((n, o) => n + o.annotations.length, 0) - 2);
  });
});
