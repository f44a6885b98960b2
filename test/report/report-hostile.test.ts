/**
 * `sam-amg report` over names chosen to break out of the pages: an output
 * folder whose path holds `</script>` and markup, one whose name ends in a
 * backslash, image names with markup, quotes, `</script>`, entities and a
 * line separator, a failure reason and an unreadable file's name carrying
 * script. Opened in a real browser: what came from data is shown as text,
 * and no script of it runs.
 */
import { appendFileSync, cpSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeHtml, scriptData } from '../../src/report/escape.js';
import { byWalkOrder } from '../../src/storage/location.js';
import { runCli, tempDir, TINY, writeScenes } from '../helpers.js';

const CHROMIUM = process.env.SAM_AMG_CHROMIUM ?? '/usr/bin/chromium';

/** Image names as the run records them (file_name); a '/' in one is a folder. */
const HOSTILE_NAMES = [
  '<img src=x onerror="window.__pwned=1">.png',
  `it's "quoted" & <b>bold</b>.png`,
  'a</script><script>window.__pwned=2</script>.png',
  'back\\slash\u2028line.png',
  '&lt;not-a-tag&gt;.png',
];
const FAILED = { path: '<img src=x onerror="window.__pwned=3">.jpg', reason: '<script>window.__pwned=4</script> could not be decoded' };
const UNREADABLE = '<svg onload=window.__pwned=5>.json';

let browser: Browser;
let work: string;
let images: string;
/** The two output folders: a path holding `</script>` and markup, and a folder whose name ends in a backslash. */
let outs: string[];
const annotationCounts = new Map<string, number>();

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`the report tests need a browser: ${CHROMIUM} is missing (apt-get install chromium, or set SAM_AMG_CHROMIUM)`);
  work = tempDir('sam-amg-report-hostile-');
  images = path.join(work, 'images');
  const scenes = await writeScenes(path.join(work, 'scenes'), HOSTILE_NAMES.length);
  HOSTILE_NAMES.forEach((name, k) => {
    mkdirSync(path.dirname(path.join(images, name)), { recursive: true });
    renameSync(path.join(work, 'scenes', scenes[k]), path.join(images, name));
  });
  const hostileOut = path.join(work, 'x</script><img src=x onerror=document.title=`PWNED`>');
  const run = await runCli([images, '--out', hostileOut, '--model', TINY, '--points-per-side', '16']);
  expect(run.code, run.stderr).toBe(0);
  for (const name of HOSTILE_NAMES) {
    const output = JSON.parse(readFileSync(path.join(hostileOut, name.replace(/\.png$/, '.json')), 'utf8'));
    expect(output.image.file_name).toBe(name);
    expect(output.annotations.length, name).toBeGreaterThan(0);
    annotationCounts.set(name, output.annotations.length);
  }
  appendFileSync(path.join(hostileOut, 'failures.jsonl'), `${JSON.stringify(FAILED)}\n`);
  writeFileSync(path.join(hostileOut, UNREADABLE), '{"image": ');
  const backslashOut = path.join(work, 'masks\\');
  cpSync(hostileOut, backslashOut, { recursive: true });
  outs = [hostileOut, backslashOut];
  for (const [k, out] of outs.entries()) {
    const res = await runCli(['report', out, '--images', images, '--to', path.join(work, `report-${k}`)]);
    // Exit 1: the unreadable file is listed, and the rest of the report is written.
    expect(res.code, res.stderr).toBe(1);
  }
  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

interface Watched {
  page: Page;
  /** Page errors, requests off disk and dialogs, as they happened. */
  problems: string[];
}

async function open(url: string): Promise<Watched> {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e}`));
  page.on('dialog', async (d) => {
    problems.push(`dialog: ${d.message()}`);
    await d.dismiss();
  });
  page.on('request', (r) => { if (!r.url().startsWith('file://')) problems.push(`fetched ${r.url()}`); });
  await page.goto(url, { waitUntil: 'load' });
  return { page, problems };
}

/** What the names' scripts set when they run (the folder's own sets document.title, checked exactly). */
const pwned = (page: Page) => page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned ?? null);

const text = (page: Page, selector: string) => page.$eval(selector, (e) => e.textContent ?? '');
const titleOf = (out: string) => `sam-amg report: ${path.basename(out)}`;
/** The pages' order: the per-image files' names, as a folder walk gives them. */
const pageOrder = () => [...HOSTILE_NAMES].sort((a, b) => byWalkOrder(a.replace(/\.png$/, '.json'), b.replace(/\.png$/, '.json')));

describe('data into the pages', () => {
  it('is written for a script as JSON that cannot end the script element, and reads back the same', () => {
    const value = { name: 'a</script><!--x-->\u2028\u2029&amp;\\', n: [1, 2.5] };
    const written = scriptData(value);
    expect(written).toBe('{"name":"a\\u003c/script\\u003e\\u003c!--x--\\u003e\\u2028\\u2029\\u0026amp;\\\\","n":[1,2.5]}');
    expect(JSON.parse(written)).toEqual(value);
    expect(() => scriptData(undefined)).toThrow(TypeError);
  });

  it('is escaped for HTML text and for attribute values in either quotes', () => {
    expect(escapeHtml(`<a href="x" title='y'>&amp;</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;');
  });
});

describe.each([0, 1])('a report of output folder %i with hostile names', (k) => {
  const report = () => path.join(work, `report-${k}`);

  it('shows every name, reason and the title as text on the dataset page, and runs none of them', async () => {
    const out = outs[k];
    const { page, problems } = await open(`file://${report()}/index.html`);
    expect(await pwned(page)).toBeNull();
    expect(await page.title()).toBe(titleOf(out));
    expect(await text(page, 'h1')).toBe(titleOf(out));
    // Only the page's own two scripts and the thumbnails: nothing from data became an element.
    expect(await page.$$eval('script', (s) => s.map((e) => e.getAttribute('src')))).toEqual(['data/dataset.js', null]);
    expect(await page.$$eval('img', (is) => is.every((i) => i.closest('.tile') !== null))).toBe(true);
    expect(await page.$$eval('[onerror], [onload], .problems li *, .tile .name *, h1 *', (e) => e.length)).toBe(0);
    const total = [...annotationCounts.values()].reduce((n, c) => n + c, 0);
    expect(await text(page, '#n-images')).toBe(String(HOSTILE_NAMES.length));
    expect(await text(page, '#n-masks')).toBe(String(total));
    expect(await text(page, '#n-failures')).toBe('1');
    expect(await text(page, '#n-unreadable')).toBe('1');
    const problemLines = await page.$$eval('.problems li', (ls) => ls.map((l) => l.textContent));
    expect(problemLines).toHaveLength(2);
    expect(problemLines[0]).toBe(`failed: ${FAILED.path}: ${FAILED.reason}`);
    expect(problemLines[1]).toMatch(/^unreadable: <svg onload=window\.__pwned=5>\.json: not valid JSON \(/);
    const tiles = await page.$$eval('.tile', (ts) => ts.map((t) => ({
      name: t.querySelector('.name')!.textContent, alt: t.querySelector('img')!.alt, masks: Number((t as HTMLElement).dataset.masks),
      loaded: t.querySelector('img')!.naturalWidth > 0, href: t.getAttribute('href'),
    })));
    expect(tiles).toEqual(pageOrder().map((name, i) => ({ name, alt: name, masks: annotationCounts.get(name), loaded: true, href: `image.html?i=${i}` })));
    // The export command names the folder exactly, quoted for the shell.
    expect(await text(page, '#command')).toBe(`sam-amg export '${out}' --format yolo --to labels`);
    expect(await pwned(page)).toBeNull();
    expect(problems).toEqual([]);
    await page.close();
  });

  it('draws the masks of every image page, names it as text, and runs nothing from data', async () => {
    const order = pageOrder();
    for (const [i, name] of order.entries()) {
      const { page, problems } = await open(`file://${report()}/image.html?i=${i}`);
      await page.waitForFunction(() => document.getElementById('shown')!.textContent !== '');
      await page.waitForFunction(() => (document.getElementById('picture') as HTMLImageElement).complete);
      expect(await text(page, '#name'), name).toBe(name);
      expect(await page.title()).toBe(`${name} — ${titleOf(outs[k])}`);
      const n = annotationCounts.get(name)!;
      expect(await text(page, '#shown')).toBe(`${n} of ${n} masks shown`);
      expect(await page.$eval('#picture', (p) => (p as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
      const painted = await page.$eval('#overlay', (c) => {
        const { data } = (c as HTMLCanvasElement).getContext('2d')!.getImageData(0, 0, (c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height);
        let count = 0;
        for (let p = 3; p < data.length; p += 4) if (data[p] > 0) count++;
        return count;
      });
      expect(painted, name).toBeGreaterThan(0);
      expect(await page.$$eval('script', (s) => s.map((e) => e.getAttribute('src')))).toEqual([`data/images/${i}.js`, null]);
      expect(await page.$$eval('img', (is) => is.map((e) => e.id))).toEqual(['picture']);
      expect(await page.$$eval('[onerror], [onload], #name *', (e) => e.length)).toBe(0);
      expect(await pwned(page)).toBeNull();
      expect(problems, name).toEqual([]);
      await page.close();
    }
  });
});
