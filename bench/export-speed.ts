/**
 * npm run bench:export -- [options]
 *
 * Export speed beside merge: generates N images (two flat shapes on a
 * background, colours varying), segments them with the tiny model, then runs
 * `sam-amg merge` and `sam-amg export` in each format, each in its own
 * process, one after another, and prints images/s and time as a ratio to merge;
 * also the Label Studio export with rle-pack's own encoder over every byte
 * (the reference of the run-by-run writer), and checks both wrote the same tasks;
 * and the COCO and YOLO exports reading one per-image file at a time
 * (`readAhead: 1`, the plain loop the read-ahead is tested against) and 8
 * ahead, both in a process of this script's. With --s3, the masks are also
 * put into an S3-protocol server on loopback (s3rver, a dev dependency,
 * started here) and exported as COCO from there, 1 and 8 ahead.
 *
 * Options:
 *   --images N       images (default 2000)
 *   --size WxH       their size (default 160x120)
 *   --rounds R       runs of each command, alternating; the best is kept (default 2)
 *   --keep DIR       keep the images, masks and exports here (default a temporary folder, removed);
 *                    images and masks already there are reused
 *   --s3             also merge from a bucket (see above)
 *   --only LIST      run only these commands (names of the table's first column, separated by ';'; merge always runs)
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pLimit from 'p-limit';
import { exportLabels, type ExportOptions } from '../src/export/export.js';
import { PACKAGE_ROOT } from '../src/package-root.js';
import { benchOptions, helpFromHeader, machineLine } from './args.js';
import { writeSceneImages } from './scenes.js';

const run = promisify(execFile);
const { args, opt } = benchOptions();
helpFromHeader(args, import.meta.url);
// s3rver pages listings with DES continuation tokens, which OpenSSL 3 keeps in its legacy provider.
if (args.includes('--s3') && !process.execArgv.includes('--openssl-legacy-provider')) {
  const { spawnSync } = await import('node:child_process');
  const again = spawnSync(process.execPath, ['--openssl-legacy-provider', fileURLToPath(import.meta.url), ...args], { stdio: 'inherit' });
  process.exit(again.status ?? 1);
}
// This script again, in a process of its own: an export with options the CLI does not offer (the references).
if (args[0] === '--in-process') {
  await exportLabels(JSON.parse(args[1]));
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
const inProcess = (options: ExportOptions) => ['--in-process', JSON.stringify(options)];
const references: Record<string, string[]> = {
  'labelstudio, rle-pack over every byte': inProcess({ out: masks, format: 'labelstudio', to: path.join(work, 'labelstudio-rle-pack'), brushEncoder: 'rle-pack' }),
};
// Read-ahead against reading one file at a time, both through exportLabels in this script's process.
for (const ahead of [1, 8]) {
  references[`coco, read-ahead ${ahead}`] = inProcess({ out: masks, format: 'coco', to: path.join(work, `coco-ahead-${ahead}.json`), readAhead: ahead });
  references[`yolo, read-ahead ${ahead}`] = inProcess({ out: masks, format: 'yolo', to: path.join(work, `yolo-ahead-${ahead}`), readAhead: ahead });
}
let s3: { close(): Promise<void> } | undefined;
if (args.includes('--s3')) {
  // It also sets the environment that reaches it, which the commands below inherit.
  s3 = (await startS3WithMasks(masks)).server;
  for (const ahead of [1, 8]) {
    references[`coco from S3, read-ahead ${ahead}`] = inProcess({ out: 's3://bench/masks', format: 'coco', to: path.join(work, `coco-s3-ahead-${ahead}.json`), readAhead: ahead });
  }
}
const only = opt('--only', '').split(';').map((s) => s.trim()).filter(Boolean);
const chosen = (name: string) => name === 'merge' || only.length === 0 || only.includes(name);
const best = new Map<string, number>();
let summary = '';
for (let r = 0; r < rounds; r++) {
  for (const [name, argv] of [...Object.entries(commands), ...Object.entries(references)]) {
    if (!chosen(name)) continue;
    const started = performance.now();
    const { stderr } = await run(process.execPath, argv[0] === '--in-process' ? [fileURLToPath(import.meta.url), ...argv] : [bin, ...argv]);
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
const sameFiles = (a: string, b: string) => !existsSync(path.join(work, a)) || readFileSync(path.join(work, a)).equals(readFileSync(path.join(work, b)));
const withoutDate = (f: string) => existsSync(path.join(work, f)) ? readFileSync(path.join(work, f), 'utf8').replace(/"date_created":"[^"]*"/, '') : '';
console.log(`Label Studio tasks of the two encoders ${sameFiles('labelstudio-rle-pack/tasks.json', 'labelstudio/tasks.json') ? 'identical' : 'DIFFER'}`);
for (const f of ['coco-ahead-1.json', 'coco-ahead-8.json', 'coco-s3-ahead-1.json', 'coco-s3-ahead-8.json']) {
  if (existsSync(path.join(work, f)) && withoutDate(f) !== withoutDate('merge.json')) console.log(`${f} DIFFERS from merge.json`);
}
await s3?.close();
if (!keep) rmSync(work, { recursive: true, force: true });

/** An S3-protocol server on loopback holding the masks under s3://bench/masks; this process's environment is set to reach it. */
async function startS3WithMasks(dir: string) {
  // @ts-expect-error s3rver ships no types
  const { default: S3rver } = await import('s3rver');
  const server = new S3rver({ port: 0, address: '127.0.0.1', directory: mkdtempSync(path.join(tmpdir(), 'sam-amg-bench-s3-')), silent: true, configureBuckets: [{ name: 'bench' }] });
  const { port } = await server.run();
  const env = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`, AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true' };
  Object.assign(process.env, env);
  const { storeFor } = await import('../src/storage/store.js');
  const store = storeFor('s3://bench/masks');
  const names = (await storeFor(dir).list(dir)) ?? [];
  const limit = pLimit(16);
  await Promise.all(names.map((name) => limit(async () => store.write(`s3://bench/masks/${name}`, readFileSync(path.join(dir, name))))));
  return { server };
}
