/**
 * Writes the demo scenes in fixtures/demo: flat-coloured shapes the tiny
 * model segments cleanly, so `sam-amg fixtures/demo ...` shows real output
 * offline. Deterministic; run with `npm run make-demo-images`.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

type Rgb = [number, number, number];
interface Shape { colour: Rgb; inside: (x: number, y: number) => boolean }

const scenes: Record<string, { size: [number, number]; background: Rgb; shapes: Shape[] }> = {
  'shapes.png': {
    size: [320, 240],
    background: [70, 80, 90],
    shapes: [
      { colour: [220, 50, 40], inside: (x, y) => x >= 30 && x < 120 && y >= 30 && y < 110 },
      { colour: [50, 190, 80], inside: (x, y) => (x - 230) ** 2 + (y - 80) ** 2 < 50 ** 2 },
      { colour: [240, 200, 30], inside: (x, y) => ((x - 160) / 90) ** 2 + ((y - 190) / 30) ** 2 < 1 },
    ],
  },
  'nested/rings.png': {
    size: [256, 256],
    background: [20, 20, 30],
    shapes: [
      { colour: [200, 200, 210], inside: (x, y) => (x - 128) ** 2 + (y - 128) ** 2 < 100 ** 2 },
      { colour: [30, 90, 200], inside: (x, y) => (x - 128) ** 2 + (y - 128) ** 2 < 60 ** 2 },
      { colour: [230, 120, 30], inside: (x, y) => Math.abs(x - 128) < 20 && Math.abs(y - 128) < 20 },
    ],
  },
};

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/demo');
for (const [name, scene] of Object.entries(scenes)) {
  const [w, h] = scene.size;
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let c = scene.background;
      for (const s of scene.shapes) if (s.inside(x + 0.5, y + 0.5)) c = s.colour;
      data.set(c, (y * w + x) * 3);
    }
  }
  const file = path.join(root, name);
  mkdirSync(path.dirname(file), { recursive: true });
  await sharp(data, { raw: { width: w, height: h, channels: 3 } }).png({ compressionLevel: 9 }).toFile(file);
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}
