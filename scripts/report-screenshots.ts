/**
 * The README's pictures of the review site: segments the photo fixtures
 * with the tiny model, writes their report and photographs both pages in
 * Debian's chromium (puppeteer-core; nothing downloaded) into docs/.
 * `node dist/scripts/report-screenshots.js` after `npm run build`.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import puppeteer from 'puppeteer-core';
import { PACKAGE_ROOT } from '../src/package-root.js';

const run = promisify(execFile);
const work = mkdtempSync(path.join(tmpdir(), 'sam-amg-shots-'));
const bin = path.join(PACKAGE_ROOT, 'bin/sam-amg.js');
const photos = path.join(PACKAGE_ROOT, 'fixtures/photos');
await run(process.execPath, [bin, photos, '--out', path.join(work, 'masks'), '--model', path.join(PACKAGE_ROOT, 'fixtures/models/tiny'), '--points-per-side', '16', '-q']);
await run(process.execPath, [bin, 'report', path.join(work, 'masks'), '--images', photos, '--to', path.join(work, 'report'), '-q']);
const browser = await puppeteer.launch({ executablePath: process.env.SAM_AMG_CHROMIUM ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1000, height: 640 });
  await page.goto(`file://${work}/report/index.html`);
  await page.screenshot({ path: path.join(PACKAGE_ROOT, 'docs/report-dataset.png') });
  await page.goto(`file://${work}/report/image.html?i=1`);
  await page.waitForFunction(() => document.getElementById('shown')!.textContent !== '');
  // The picture sets the stage's size, and with it where the overlay sits.
    await page.waitForFunction(() => (document.getElementById('picture') as HTMLImageElement).complete);
  await page.$eval('#min-iou', (el) => {
    (el as HTMLInputElement).value = '0.9';
    el.dispatchEvent(new Event('input'));
  });
  const box = (await (await page.$('#overlay'))!.boundingBox())!;
  // Point at the middle of the first coloured stretch of the middle row: a shown mask.
  const [fx, fy] = await page.$eval('#overlay', (c) => {
    const canvas = c as HTMLCanvasElement;
    const y = Math.floor(canvas.height * 0.45);
    const row = canvas.getContext('2d')!.getImageData(0, y, canvas.width, 1).data;
    let x = 0;
    while (x < canvas.width && row[4 * x + 3] === 0) x++;
    let end = x;
    while (end < canvas.width && row[4 * end + 3] !== 0) end++;
    return [(x + end) / 2 / canvas.width, y / canvas.height];
  });
  await page.mouse.move(box.x + box.width * fx, box.y + box.height * fy);
  await page.waitForFunction(() => document.getElementById('details')!.textContent!.startsWith('mask'));
  await page.screenshot({ path: path.join(PACKAGE_ROOT, 'docs/report-image.png') });
} finally {
  await browser.close();
  rmSync(work, { recursive: true, force: true });
}
console.log('wrote docs/report-dataset.png, docs/report-image.png');
