/**
 * Compares the sparse and the full (reference) mask upscaler in one run on
 * the SAM example photos and the demo scene, with the tiny model, and checks
 * that both give identical records. Prints the seconds of post-processing
 * (upscaling, filters, RLE, NMS: the stage the upscaler is part of; model
 * inference excluded) per image and the ratio.
 *
 *   npm run bench:upscale [-- --images DIR] [-- --repeat N]
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { emptyTimings, generateMasks } from '../src/amg/generator.js';
import { decodeImage } from '../src/image/decode.js';
import { SamOnnxModel } from '../src/model/sam-onnx.js';
import { benchOptions, machineLine } from './args.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { args, opt } = benchOptions();
if (args.includes('--help')) {
  console.log('usage: npm run bench:upscale -- [--images DIR] [--repeat N]\n' +
    'Times AMG with the sparse and the full upscaler on the same images in one run (tiny model).');
  process.exit(0);
}
const imageDir = opt('--images', path.resolve(root, '../shared/fixtures/images'));
const repeat = Number(opt('--repeat', '1'));
const files = [
  ...readdirSync(imageDir).filter((f) => /\.(jpe?g|png)$/i.test(f)).map((f) => path.join(imageDir, f)),
  path.join(root, 'fixtures/demo/shapes.png'),
];
const model = await SamOnnxModel.loadDir(path.join(root, 'fixtures/models/tiny-batched'), { promptsPerCall: 64 });
const rows: string[] = [];
let totalSparse = 0;
let totalFull = 0;
for (const file of files) {
  const image = await decodeImage(file);
  const seconds = { sparse: 0, full: 0 };
  const outputs: Record<string, string> = {};
  for (let r = 0; r < repeat; r++) {
    // Alternate the order so drift on a shared machine hits both alike.
    for (const mode of (r % 2 ? ['full', 'sparse'] : ['sparse', 'full']) as ('sparse' | 'full')[]) {
      const timings = emptyTimings();
      outputs[mode] = JSON.stringify(await generateMasks(image, model, {}, { upscale: mode, timings }));
      seconds[mode] += timings.postprocess / repeat;
    }
  }
  if (outputs.sparse !== outputs.full) throw new Error(`${file}: sparse and full upscaling differ`);
  totalSparse += seconds.sparse;
  totalFull += seconds.full;
  rows.push(`| ${path.basename(file)} | ${image.width}×${image.height} | ${seconds.full.toFixed(2)} | ${seconds.sparse.toFixed(2)} | ${(seconds.sparse / seconds.full).toFixed(2)} |`);
}
console.log(machineLine());
console.log('| image | size | full post-processing s | sparse post-processing s | sparse / full |\n|---|---|---|---|---|');
console.log(rows.join('\n'));
console.log(`| all | | ${totalFull.toFixed(2)} | ${totalSparse.toFixed(2)} | ${(totalSparse / totalFull).toFixed(2)} |`);
await model.release();
