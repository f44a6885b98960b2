/**
 * Peak memory of one large image through the whole run (decode, crops,
 * encoder, decoder, upscaling, RLE, write), measured in this process.
 *
 *   npm run bench:rss -- [--model DIR] [--size 4000x3000] [--crop-n-layers 1] [--points-per-side 32]
 *
 * The image is SAM's truck.jpg enlarged to the size (or a generated scene when
 * the shared photos are absent). Not a timed test: run it by hand and record.
 */
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { generateCropBoxes } from '../src/amg/geometry.js';
import { DEFAULT_SETTINGS } from '../src/settings/settings.js';
import { runDataset } from '../src/runner/run.js';
import { benchOptions, machineLine } from './args.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { args, opt } = benchOptions();
if (args.includes('--help')) {
  console.log('usage: npm run bench:rss -- [--model DIR] [--size WxH] [--crop-n-layers N] [--points-per-side N]');
  process.exit(0);
}
const modelDir = opt('--model', path.join(root, 'fixtures/models/tiny'));
const [w, h] = opt('--size', '4000x3000').split('x').map(Number);

const work = await mkdtemp(path.join(tmpdir(), 'sam-amg-rss-'));
const source = path.resolve(root, '../shared/fixtures/images/truck.jpg');
const imageFile = path.join(work, 'big.jpg');
if (existsSync(source)) await sharp(source).resize(w, h, { fit: 'fill' }).jpeg({ quality: 92 }).toFile(imageFile);
else await sharp({ create: { width: w, height: h, channels: 3, background: '#6080a0' } }).jpeg().toFile(imageFile);

const baseline = process.resourceUsage().maxRSS;
const cropNLayersText = opt('--crop-n-layers', '1');
const cropNLayers = Number(cropNLayersText);
let t = performance.now();
// Post-processing on this thread, so the peak is the whole pipeline's in one process; seconds from the run's start, the model loaded.
const summary = await runDataset({
  inputs: [imageFile], out: path.join(work, 'out'), model: modelDir, postprocessWorkers: 0,
  cropNLayers: cropNLayersText, pointsPerSide: opt('--points-per-side', '32'),
  onEvent: (e) => {
    if (e.event === 'start') t = performance.now();
  },
});
const seconds = (performance.now() - t) / 1000;
const peakMiB = process.resourceUsage().maxRSS / 1024;
console.log(JSON.stringify({
  machine: machineLine(),
  image: `${w}x${h}`, model: path.relative(root, modelDir), crop_n_layers: cropNLayers,
  crops: generateCropBoxes(h, w, cropNLayers, DEFAULT_SETTINGS.cropOverlapRatio).length,
  masks: summary.masks, seconds: +seconds.toFixed(1), peak_rss_mib: +peakMiB.toFixed(0),
  rss_before_model_mib: +(baseline / 1024).toFixed(0),
}));
