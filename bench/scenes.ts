import { mkdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';

/**
 * Writes `count` PNG scenes of `w`×`h` (a flat rectangle and disc on a flat
 * background, colours and places varying with the index) into
 * `<dir>/part-NN/scene-NNNNN.png`, 500 a folder: the large datasets of the
 * report and export benchmarks.
 */
export async function writeSceneImages(dir: string, count: number, w: number, h: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const part = path.join(dir, `part-${String(Math.floor(i / 500)).padStart(2, '0')}`);
    mkdirSync(part, { recursive: true });
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><rect width="100%" height="100%" fill="rgb(${40 + (i * 37) % 80},60,70)"/>` +
      `<rect x="${w / 16 + (i % 7)}" y="${h / 10}" width="${w / 3}" height="${h / 2}" fill="rgb(210,${(i * 53) % 200},40)"/>` +
      `<circle cx="${(w * 2) / 3}" cy="${h / 2}" r="${h / 10 + (i % 9)}" fill="rgb(40,180,${(i * 29) % 250})"/></svg>`;
    await sharp(Buffer.from(svg)).png().toFile(path.join(part, `scene-${String(i).padStart(5, '0')}.png`));
  }
}
