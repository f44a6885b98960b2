/**
 * npm run bench:export -- [options]
 *
 * Export speed beside merge: generates N images (two flat shapes on a
 * background, colours varying), segments them with the tiny model, then runs
 * `sam-amg merge` and `sam-amg export` in each format, each in its own
 * process, one after another, and prints images/s and time as a ratio to merge;
 * also the Label Studio export with rle-pack's own encoder over every byte
 * (the reference of the run-by-run writer), and checks both wrote the same tasks.
 *
 * Options:
 *   --images N       images (default 2000)
 *   --size WxH       their size (default 160x120)
 *   --rounds R       runs of each command, alternating; the best is kept (default 2)
 *   --keep DIR       keep the images, masks and exports here (default a temporary folder, removed);
 *                    images and masks already there are reused
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { exportLabels } from '../src/export/export.js';
import { PACKAGE_ROOT } from '../src/package-root.js';
import { benchOptions, helpFromHeader, machineLine } from './args.js';
import { writeSceneImages } from './scenes.js';

const run = promisify(execFile);
const { args, opt } = benchOptions();
helpFromHeader(args, import.meta.url);
// This script again, in a process of its own: a Label Studio export with rle-pack's encoder over every byte, the reference.
if (args[0] === '--reference-labelstudio') {
  await exportLabels({ out: args[1], format: 'labelstudio', to: args[2], brushEncoder: 'rle-pack' });
  process.exit(0);
}
const count = Number(opt('--images', '2000'));
const [w, h] = opt('--size', '160x120').split('x').map(Number);
const rounds = Number(opt('--rounds', '2'));
const keep = opt('--keep', '');
const work = keep || mkdtempSync(path.join(tmpdir(), 'sam-amg-export-bench-'));
const images = path.join(work, 'images');
const masks = path.join(work, 'masks');
const bin = path.join(PACKAGE_ROOT, 'bin/sam-amg.js');
if (!existsSync(masks)) {
  await writeSceneImages(images, count, w, h);
  await run(process.execPath, [bin, images, '--out', masks, '--model', path.join(PACKAGE_ROOT, 'fixtures/models/tiny'), '--points-per-side', '8', '-q']);
}
const commands: Record<string, string[]> = {
  merge: ['merge', masks, '--coco', path.join(work, 'merge.json')],
  coco: ['export', masks, '--format', 'coco', '--to', path.join(work, 'export.json')],
  yolo: ['export', masks, '--format', 'yolo', '--to', path.join(work, 'yolo')],
  'yolo --simplify 1': ['export', masks, '--format', 'yolo', '--to', path.join(work, 'yolo-simple'), '--simplify', '1'],
  labelstudio: ['export', masks, '--format', 'labelstudio', '--to', path.join(work, 'labelstudio')],
  labelmap: ['export', masks, '--format', 'labelmap', '--to', path.join(work, 'labelmap')],
};
const reference = ['--reference-labelstudio', masks, path.join(work, 'labelstudio-rle-pack')];
const best = new Map<string, number>();
let summary = '';
for (let r = 0; r < rounds; r++) {
  for (const [name, argv] of [...Object.entries(commands), ['labelstudio, rle-pack over every byte', reference] as const]) {
    const started = performance.now();
    const { stderr } = await run(process.execPath, argv === reference ? [fileURLToPath(import.meta.url), ...argv] : [bin, ...argv]);
    const seconds = (performance.now() - started) / 1000;
    best.set(name, Math.min(best.get(name) ?? Infinity, seconds));
    if (name === 'merge') summary = stderr.trim();
  }
}
console.log(machineLine());
console.log(`${count} images of ${w}x${h}, best of ${rounds} (${summary.replace(/^sam-amg: /, '')})`);
console.log('| command | s | images/s | × merge |\n| --- | --- | --- | --- |');
for (const [name, seconds] of best) {
  console.log(`| ${name} | ${seconds.toFixed(2)} | ${(count / seconds).toFixed(0)} | ${(seconds / best.get('merge')!).toFixed(2)} |`);
}
const same = readFileSync(path.join(work, 'labelstudio/tasks.json')).equals(readFileSync(path.join(work, 'labelstudio-rle-pack/tasks.json')));
console.log(`Label Studio tasks of the two encoders ${same ? 'identical' : 'DIFFER'}`);
if (!keep) rmSync(work, { recursive: true, force: true });
