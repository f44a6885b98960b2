/**
 * npm run bench:cover -- [options]
 *
 * What hierarchical sampling's covered map costs: on each image, the first
 * pass's decoder batch (a quarter-density grid) is post-processed again and
 * again with and without the covered map, with the sparse upscaler (exact
 * values only where a logit can pass the covering threshold) and the full
 * one (every pixel), all in this process, alternating; prints the best time
 * of each and the ratios.
 *
 * Options:
 *   --model DIR              model folder (default fixtures/models/tiny)
 *   --images DIR             images (default fixtures/photos)
 *   --points-per-side N      the full density (default 32: the first pass has 8 × 8 points)
 *   --high-score-thresh X    the covering threshold (default 8.5)
 *   --rounds R               repetitions (default 20)
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { InlineBatchProcessor, type BatchFrame } from '../src/amg/batch-processor.js';
import { buildPointGrid } from '../src/amg/geometry.js';
import { firstPassSide } from '../src/amg/hierarchical.js';
import { decodeImage } from '../src/image/decode.js';
import { SamOnnxModel } from '../src/model/sam-onnx.js';
import { PACKAGE_ROOT } from '../src/package-root.js';
import { resolveSettings } from '../src/settings/settings.js';
import { benchOptions, helpFromHeader, machineLine } from './args.js';

const { args, opt } = benchOptions();
helpFromHeader(args, import.meta.url);
const modelDir = path.resolve(opt('--model', path.join(PACKAGE_ROOT, 'fixtures/models/tiny')));
const imageDir = path.resolve(opt('--images', path.join(PACKAGE_ROOT, 'fixtures/photos')));
const side = Number(opt('--points-per-side', '32'));
const threshold = Number(opt('--high-score-thresh', '8.5'));
const rounds = Number(opt('--rounds', '20'));
const settings = resolveSettings({ pointsPerSide: side, sampling: 'hierarchical', highScoreThresh: threshold });
const model = await SamOnnxModel.loadDir(modelDir);
const best = { plain: 0, covered: 0, 'plain, full upscaler': 0, 'covered, full upscaler': 0 };
let coveredPixels = 0;
let pixels = 0;
for (const name of readdirSync(imageDir).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort()) {
  const image = await decodeImage(path.join(imageDir, name));
  const embedding = await model.embed(image);
  const grid = buildPointGrid(firstPassSide(side));
  const count = grid.length / 2;
  const points = new Float64Array(grid.length);
  const prompts = new Float32Array(grid.length);
  for (let k = 0; k < count; k++) {
    points[2 * k] = grid[2 * k] * image.width;
    points[2 * k + 1] = grid[2 * k + 1] * image.height;
    prompts[2 * k] = points[2 * k] * embedding.pointScaleX;
    prompts[2 * k + 1] = points[2 * k + 1] * embedding.pointScaleY;
  }
  const decoded = await model.decode(embedding, prompts, count, { iouFloor: settings.predIouThresh });
  const candidates = { count: count * 3, lowRes: decoded.lowRes, iouPreds: decoded.iouPreds, points: Float64Array.from({ length: count * 6 }, (_, i) => points[2 * Math.floor(i / 6) + (i % 2)]) };
  const frame: BatchFrame = {
    cropBox: [0, 0, image.width, image.height], imageH: image.height, imageW: image.width,
    geometry: { lowRes: model.lowResSize, inputSize: embedding.maskFrame, resizedH: embedding.maskHeight, resizedW: embedding.maskWidth, cropH: image.height, cropW: image.width },
    upscale: 'sparse', reference: 'sam',
  };
  const processor = new InlineBatchProcessor();
  const variants: [keyof typeof best, BatchFrame][] = [
    ['plain', frame], ['covered', { ...frame, coverAbove: threshold }],
    ['plain, full upscaler', { ...frame, upscale: 'full' }], ['covered, full upscaler', { ...frame, upscale: 'full', coverAbove: threshold }],
  ];
  const times = Object.fromEntries(variants.map(([k]) => [k, Infinity])) as typeof best;
  for (let r = 0; r < rounds; r++) {
    for (const [key, f] of variants) {
      const t = performance.now();
      const out = processor.process(candidates, f, settings);
      times[key] = Math.min(times[key], performance.now() - t);
      if (r === 0 && key === 'covered') {
        coveredPixels += out.covered?.reduce((n, v) => n + v, 0) ?? 0;
        pixels += image.width * image.height;
      }
    }
  }
  for (const key of Object.keys(best) as (keyof typeof best)[]) best[key] += times[key];
}
await model.release();
console.log(machineLine());
console.log(`first pass of ${firstPassSide(side)}² points per image, covering threshold ${threshold}: ${(100 * coveredPixels / pixels).toFixed(1)} % of pixels covered`);
console.log('| post-processing of the first pass | ms (sum over images, best of rounds) | × plain |\n| --- | --- | --- |');
for (const [key, ms] of Object.entries(best)) console.log(`| ${key} | ${ms.toFixed(1)} | ${(ms / best.plain).toFixed(2)} |`);
