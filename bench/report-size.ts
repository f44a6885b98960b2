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
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
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
const [w, h] = opt('--size', '160x120').split('x').map(Number);
const keep = opt('--keep', '');
const work = keep || mkdtempSync(path.join(tmpdir(), 'sam-amg-report-bench-'));
const images = path.join(work, 'images');
await writeSceneImages(images, count, w, h);
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
