/**
 * npm run bench:report -- [options]
 *
 * The review site of a large output folder: generates N small images (two
 * flat shapes on a background, colours varying), segments them with the
 * tiny model, then times `sam-amg report` and measures the report's size.
 *
 * Options:
 *   --images N       images (default 2000)
 *   --size WxH       their size (default 160x120)
 *   --keep DIR       keep the images, masks and report here (default a temporary folder, removed)
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { PACKAGE_ROOT } from '../src/package-root.js';
import { benchOptions, helpFromHeader, machineLine } from './args.js';

const run = promisify(execFile);
const { args, opt } = benchOptions();
helpFromHeader(args, import.meta.url);
const count = Number(opt('--images', '2000'));
const [w, h] = opt('--size', '160x120').split('x').map(Number);
const keep = opt('--keep', '');
const work = keep || mkdtempSync(path.join(tmpdir(), 'sam-amg-report-bench-'));
const images = path.join(work, 'images');
for (let i = 0; i < count; i++) {
  const dir = path.join(images, `part-${String(Math.floor(i / 500)).padStart(2, '0')}`);
  mkdirSync(dir, { recursive: true });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><rect width="100%" height="100%" fill="rgb(${40 + (i * 37) % 80},60,70)"/>` +
    `<rect x="${10 + (i % 7)}" y="12" width="${w / 3}" height="${h / 2}" fill="rgb(210,${(i * 53) % 200},40)"/>` +
    `<circle cx="${(w * 2) / 3}" cy="${h / 2}" r="${12 + (i % 9)}" fill="rgb(40,180,${(i * 29) % 250})"/></svg>`;
  await sharp(Buffer.from(svg)).png().toFile(path.join(dir, `scene-${String(i).padStart(5, '0')}.png`));
}
const bin = path.join(PACKAGE_ROOT, 'bin/sam-amg.js');
const masks = path.join(work, 'masks');
let started = performance.now();
await run(process.execPath, [bin, images, '--out', masks, '--model', path.join(PACKAGE_ROOT, 'fixtures/models/tiny'), '--points-per-side', '8', '-q']);
const segmentSeconds = (performance.now() - started) / 1000;
const report = path.join(work, 'report');
started = performance.now();
await run(process.execPath, [bin, 'report', masks, '--images', images, '--to', report, '-q']);
const reportSeconds = (performance.now() - started) / 1000;
const sizeOf = (dir: string): { bytes: number; files: number } => readdirSync(dir, { withFileTypes: true }).reduce((acc, e) => {
  const full = path.join(dir, e.name);
  const s = e.isDirectory() ? sizeOf(full) : { bytes: statSync(full).size, files: 1 };
  return { bytes: acc.bytes + s.bytes, files: acc.files + s.files };
}, { bytes: 0, files: 0 });
const size = sizeOf(report);
console.log(machineLine());
console.log(`${count} images of ${w}x${h}: segmented in ${segmentSeconds.toFixed(1)} s; sam-amg report ${reportSeconds.toFixed(1)} s, ` +
  `${(size.bytes / 2 ** 20).toFixed(1)} MiB in ${size.files} files (index.html ${(statSync(path.join(report, 'index.html')).size / 1024).toFixed(0)} KiB, ` +
  `data/dataset.js ${(statSync(path.join(report, 'data/dataset.js')).size / 1024).toFixed(0)} KiB)`);
if (!keep) rmSync(work, { recursive: true, force: true });
