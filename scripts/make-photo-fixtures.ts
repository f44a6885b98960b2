/**
 * Writes fixtures/photos: JPEG scenes that stand in for real photos in the
 * tests, so a clone needs nothing beside it. They exercise what photos do:
 * JPEG decoding with its block noise, textured regions with soft, irregular
 * edges (so the tiny model's masks have natural-looking shapes), non-square
 * frames in both orientations, one side over 1024 (the encoder's resize
 * shrinks) and one under (it enlarges). Deterministic: a seeded generator,
 * and sharp's JPEG encoder at fixed settings. Run with `npm run make-photo-fixtures`.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

type Rgb = [number, number, number];

/** mulberry32: a small seeded generator, so every run paints the same pixels. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Smooth noise in [-1, 1]: random values on a lattice, bilinear between them, summed over octaves. */
function valueNoise(random: () => number, cell: number, octaves: number): (x: number, y: number) => number {
  const size = 64;
  const lattices = Array.from({ length: octaves }, () => Float32Array.from({ length: size * size }, () => random() * 2 - 1));
  return (x, y) => {
    let sum = 0;
    let weight = 0;
    for (let o = 0; o < octaves; o++) {
      const scale = cell / 2 ** o;
      const fx = x / scale;
      const fy = y / scale;
      const ix = Math.floor(fx);
      const iy = Math.floor(fy);
      const tx = fx - ix;
      const ty = fy - iy;
      const at = (i: number, j: number) => lattices[o][(((j % size) + size) % size) * size + (((i % size) + size) % size)];
      const top = at(ix, iy) * (1 - tx) + at(ix + 1, iy) * tx;
      const bottom = at(ix, iy + 1) * (1 - tx) + at(ix + 1, iy + 1) * tx;
      const amplitude = 0.5 ** o;
      sum += (top * (1 - ty) + bottom * ty) * amplitude;
      weight += amplitude;
    }
    return sum / weight;
  };
}

/** A region with a soft edge: `distance` < 0 inside, in pixels; the wobble makes the outline irregular. */
interface Region {
  distance: (x: number, y: number) => number;
  colour: Rgb;
  /** Brightness change across the region, per pixel of x and y (a light from one side). */
  shade: [number, number];
  texture: number;
}

interface Scene {
  width: number;
  height: number;
  seed: number;
  background: (x: number, y: number) => Rgb;
  regions: (random: () => number) => Region[];
}

const ellipse = (cx: number, cy: number, rx: number, ry: number) => (x: number, y: number) =>
  (Math.hypot((x - cx) / rx, (y - cy) / ry) - 1) * Math.min(rx, ry);
const box = (x0: number, y0: number, x1: number, y1: number) => (x: number, y: number) =>
  Math.max(x0 - x, x - x1, y0 - y, y - y1);
const mix = (a: Rgb, b: Rgb, t: number): Rgb => [0, 1, 2].map((i) => a[i] + (b[i] - a[i]) * t) as Rgb;

const scenes: Record<string, Scene> = {
  // Landscape, wider than 1024: the encoder's resize shrinks it.
  'meadow.jpg': {
    width: 1400, height: 930, seed: 11,
    background: (_x, y) => mix([110, 160, 220], [200, 220, 235], y / 500),
    regions: (random) => {
      const hills = valueNoise(random, 260, 3);
      return [
        { distance: (x, y) => 420 + 60 * hills(x, 0) - y, colour: [70, 130, 60], shade: [0, 0.05], texture: 14 },
        { distance: (x, y) => 640 + 40 * hills(x + 900, 0) - y, colour: [140, 120, 70], shade: [0, 0.04], texture: 18 },
        { distance: ellipse(330, 520, 120, 90), colour: [35, 80, 40], shade: [-0.08, -0.05], texture: 20 },
        { distance: ellipse(1050, 300, 90, 55), colour: [235, 235, 240], shade: [0, -0.06], texture: 6 },
        { distance: box(820, 560, 1010, 720), colour: [160, 60, 50], shade: [0.06, 0], texture: 10 },
        { distance: ellipse(600, 800, 70, 45), colour: [120, 120, 125], shade: [-0.1, -0.1], texture: 16 },
      ];
    },
  },
  // Portrait, under 1024 on both sides: the resize enlarges it.
  'still-life.jpg': {
    width: 600, height: 800, seed: 23,
    background: (x, y) => mix([60, 50, 45], [120, 100, 80], (x + y) / 1400),
    regions: () => [
      { distance: (_x, y) => 520 - y, colour: [150, 110, 70], shade: [0.03, 0.03], texture: 12 },
      { distance: ellipse(190, 500, 95, 90), colour: [200, 40, 35], shade: [-0.2, -0.2], texture: 8 },
      { distance: ellipse(380, 520, 80, 75), colour: [230, 180, 40], shade: [-0.2, -0.2], texture: 8 },
      { distance: box(250, 220, 420, 470), colour: [50, 90, 160], shade: [0.12, 0], texture: 6 },
      { distance: ellipse(470, 660, 60, 35), colour: [90, 150, 60], shade: [-0.2, -0.15], texture: 10 },
    ],
  },
  // Wide and short, under 1024: a third aspect ratio and more small objects.
  'shelf.jpg': {
    width: 900, height: 420, seed: 37,
    background: (x) => mix([215, 210, 200], [180, 175, 165], x / 900),
    regions: () => [
      { distance: box(0, 300, 900, 330), colour: [110, 80, 50], shade: [0, 0], texture: 14 },
      ...[0, 1, 2, 3, 4].map((k): Region => ({
        distance: box(60 + k * 170, 120 + (k % 2) * 40, 160 + k * 170, 300),
        colour: ([[180, 50, 60], [40, 110, 170], [230, 200, 60], [60, 150, 90], [120, 70, 150]] as Rgb[])[k],
        shade: [0.15, 0], texture: 8,
      })),
      { distance: ellipse(450, 380, 60, 25), colour: [40, 40, 45], shade: [0, -0.1], texture: 10 },
    ],
  },
};

function paint(scene: Scene): Uint8Array {
  const random = seeded(scene.seed);
  const regions = scene.regions(random);
  const wobble = valueNoise(random, 40, 3);
  const texture = valueNoise(random, 12, 3);
  const { width: w, height: h } = scene;
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const px = x + 0.5;
      const py = y + 0.5;
      let colour = scene.background(px, py);
      for (const [k, r] of regions.entries()) {
        // Irregular outlines, anti-aliased over about two pixels.
        const d = r.distance(px, py) + 6 * wobble(px + 97 * k, py - 53 * k);
        const cover = Math.min(1, Math.max(0, 0.5 - d / 2));
        if (cover === 0) continue;
        const light = 1 + r.shade[0] * (px - w / 2) / 100 + r.shade[1] * (py - h / 2) / 100;
        const grain = r.texture * texture(px + 31 * k, py + 17 * k);
        const own = r.colour.map((c) => c * light + grain) as Rgb;
        colour = mix(colour, own, cover);
      }
      for (let c = 0; c < 3; c++) {
        const sensor = (random() - 0.5) * 6;
        data[(y * w + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(colour[c] + sensor)));
      }
    }
  }
  return data;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/photos');
mkdirSync(root, { recursive: true });
for (const [name, scene] of Object.entries(scenes)) {
  const file = path.join(root, name);
  await sharp(paint(scene), { raw: { width: scene.width, height: scene.height, channels: 3 } })
    .jpeg({ quality: 80, chromaSubsampling: '4:2:0', mozjpeg: false })
    .toFile(file);
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}
