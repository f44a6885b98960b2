/**
 * npm run bench:report -- [options]
 *
 * The review site of a large output folder: generates N small images (two
 * flat shapes on a background, colours varying), segments them with the
 * tiny model, then times `sam-amg report`, measures its peak memory (the
 * report process's maximum resident set size) and the report's size. For
 * counts too large to segment, --outputs adds copies of the outputs under
 * other names (their pictures missing, so they share the grey thumbnail).
 *
 * Options:
 *   --images N       images segmented (default 2000)
 *   --outputs N      per-image files the report reads (default: the images; more are copies of their outputs)
 *   --size WxH       the images' size (default 160x120)
 *   --bin FILE       the sam-amg that writes the report (default this package's bin/sam-amg.js), to compare builds
 *   --chromium FILE  also time the pages in this browser, headless (e.g. /usr/bin/chromium): loading the
 *                    dataset page, sorting it by mask count, opening the last image's page
 *   --keep DIR       keep the images, masks and report here (default a temporary folder, removed)
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_ROOT } from '../src/package-root.js';
import { benchOptions, helpFromHeader, machineLine } from './args.js';
import { writeSceneImages } from './scenes.js';

const run = promisify(execFile);
const { args, opt } = benchOptions();
helpFromHeader(args, import.meta.url);
const count = Number(opt('--images', '2000'));
const outputs = Number(opt('--outputs', String(count)));
const [w, h] = opt('--size', '160x120').split('x').map(Number);
const bin = path.resolve(opt('--bin', path.join(PACKAGE_ROOT, 'bin/sam-amg.js')));
const chromium = opt('--chromium', '');
const keep = opt('--keep', '');
const work = keep || mkdtempSync(path.join(tmpdir(), 'sam-amg-report-bench-'));
const images = path.join(work, 'images');
await writeSceneImages(images, count, w, h);
const masks = path.join(work, 'masks');
let started = performance.now();
await run(process.execPath, [path.join(PACKAGE_ROOT, 'bin/sam-amg.js'), images, '--out', masks, '--model', path.join(PACKAGE_ROOT, 'fixtures/models/tiny'), '--points-per-side', '8', '-q']);
const segmentSeconds = (performance.now() - started) / 1000;

/** The per-image files the run wrote (not the copies of an earlier bench kept in the folder). */
const segmentedOutputs = (): string[] => readdirSync(masks, { withFileTypes: true, recursive: true })
  .filter((e) => e.isFile() && e.name.endsWith('.json') && !e.name.startsWith('.') && !path.relative(masks, e.parentPath).startsWith('copies'))
  .map((e) => path.join(e.parentPath, e.name));

/** Copies of the segmented outputs, named copies/part-NNNN/copy-NNNNNNN, until the folder holds `total`. */
function writeCopies(total: number): void {
  const templates = segmentedOutputs().map((f) => JSON.parse(readFileSync(f, 'utf8')));
  for (let k = templates.length; k < total; k++) {
    const folder = `copies/part-${String(Math.floor(k / 1000)).padStart(4, '0')}`;
    const name = `copy-${String(k).padStart(7, '0')}`;
    if (k % 1000 === 0 || k === templates.length) mkdirSync(path.join(masks, folder), { recursive: true });
    const template = templates[k % templates.length];
    const copy = { ...template, image: { ...template.image, image_id: k, file_name: `${folder}/${name}.png` } };
    writeFileSync(path.join(masks, folder, `${name}.json`), JSON.stringify(copy));
  }
}
started = performance.now();
writeCopies(outputs);
const copySeconds = (performance.now() - started) / 1000;

const report = path.join(work, 'report');
// The report process prints its own peak resident set size as it exits.
const peakRss = 'data:text/javascript,process.on("exit",()=>process.stderr.write(`peak-rss-kib ${process.resourceUsage().maxRSS}\\n`))';
started = performance.now();
const { stderr } = await run(process.execPath, ['--import', peakRss, bin, 'report', masks, '--images', images, '--to', report, '-q'], { maxBuffer: 64 * 2 ** 20 });
const reportSeconds = (performance.now() - started) / 1000;
const peakMiB = Number(/peak-rss-kib (\d+)/.exec(stderr)![1]) / 1024;
const sizeOf = (dir: string): { bytes: number; files: number } => readdirSync(dir, { withFileTypes: true }).reduce((acc, e) => {
  const full = path.join(dir, e.name);
  const s = e.isDirectory() ? sizeOf(full) : { bytes: statSync(full).size, files: 1 };
  return { bytes: acc.bytes + s.bytes, files: acc.files + s.files };
}, { bytes: 0, files: 0 });
const size = sizeOf(report);
console.log(machineLine());
console.log(`${count} images of ${w}x${h} segmented in ${segmentSeconds.toFixed(1)} s` +
  `${outputs > count ? `; ${outputs - count} copies of their outputs written in ${copySeconds.toFixed(1)} s` : ''}`);
console.log(`${bin} report of ${Math.max(count, outputs)} per-image files: ${reportSeconds.toFixed(1)} s, peak RSS ${peakMiB.toFixed(0)} MiB; ` +
  `${(size.bytes / 2 ** 20).toFixed(1)} MiB in ${size.files} files (index.html ${(statSync(path.join(report, 'index.html')).size / 1024).toFixed(0)} KiB, ` +
  `data/dataset.js ${(statSync(path.join(report, 'data/dataset.js')).size / 1024).toFixed(0)} KiB)`);

/** Seconds the browser takes to load the dataset page, re-sort it and open the last image's page. */
async function timePages(executablePath: string, images: number): Promise<string> {
  const { default: puppeteer } = await import('puppeteer-core');
  const browser = await puppeteer.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage();
    let t = performance.now();
    await page.goto(`file://${report}/index.html`, { waitUntil: 'load', timeout: 600_000 });
    await page.waitForFunction(() => document.getElementById('page-info')!.textContent !== '', { timeout: 600_000 });
    const load = (performance.now() - t) / 1000;
    t = performance.now();
    await page.select('#sort', 'masks-desc');
    const sort = (performance.now() - t) / 1000;
    t = performance.now();
    await page.goto(`file://${report}/image.html?i=${images - 1}`, { waitUntil: 'load' });
    await page.waitForFunction(() => document.getElementById('shown')!.textContent !== '');
    const open = (performance.now() - t) / 1000;
    return `${path.basename(executablePath)}: dataset page loaded in ${load.toFixed(2)} s, sorted by mask count in ${sort.toFixed(2)} s; ` +
      `image page ${images - 1} opened in ${open.toFixed(2)} s`;
  } finally {
    await browser.close();
  }
}
if (chromium) console.log(await timePages(chromium, Math.max(count, outputs)));
if (!keep) rmSync(work, { recursive: true, force: true });
