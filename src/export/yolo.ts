import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { placeInside, withExtension } from '../output/layout.js';
import type { Sa1bAnnotation, Sa1bFile } from '../output/sa1b.js';
import { maskPolygon } from './polygons.js';

/**
 * The text of a vertex coordinate `pixel` (an integer pixel index) divided
 * by the image's `size` (its width for x, height for y): Ultralytics reads
 * it as a float32 (or a float64), multiplies it by the size and casts the
 * product to int32, which truncates, before `cv2.fillPoly`; the text is the
 * first of pixel / size rounded to 6 decimals, then rounded up to 6, 7, …
 * decimals (and one unit above each), that gives `pixel` back whichever of
 * those it meets, so a product a hair under the integer never loses a pixel.
 */
export function yoloCoordinate(pixel: number, size: number): string {
  const back = (text: string) => {
    const value = Number(text);
    const single = Math.fround(value);
    return Math.trunc(value * size) === pixel && Math.trunc(single * size) === pixel
      && Math.trunc(Math.fround(single * size)) === pixel;
  };
  const fixed = (pixel / size).toFixed(6);
  if (back(fixed)) return fixed;
  for (let digits = 6; digits <= 15; digits++) {
    const scale = 10 ** digits;
    const up = Math.ceil((pixel / size) * scale);
    for (const units of [up, up + 1]) {
      const text = `${Math.floor(units / scale)}.${String(units % scale).padStart(digits, '0')}`;
      if (back(text)) return text;
    }
  }
  throw new Error(`no decimal of ${pixel}/${size} survives Ultralytics' float32 reading`);
}

/**
 * Ultralytics YOLO segmentation labels: `<file_name without extension>.txt`
 * in the labels folder, one line per mask, `0 x1 y1 … xn yn`, the polygon's
 * vertices (pixel centres, as `findContours` gives them) divided by the
 * image's width and height (yoloCoordinate). Ultralytics takes a line of
 * under 3 points for a box, so a lone pixel's vertex is written 3 times and
 * a straight line's two ends there and back.
 */
export function yoloLines(file: Sa1bFile, annotations: readonly Sa1bAnnotation[], simplify: number): string {
  const { width, height } = file.image;
  let text = '';
  for (const a of annotations) {
    const ring = maskPolygon(a.segmentation, simplify);
    if (ring.length === 0) continue;
    if (ring.length === 2) ring.push(ring[0], ring[1], ring[0], ring[1]);
    else if (ring.length === 4) ring.push(ring[0], ring[1]);
    let line = '0';
    for (let i = 0; i < ring.length; i += 2) line += ` ${yoloCoordinate(ring[i], width)} ${yoloCoordinate(ring[i + 1], height)}`;
    text += `${line}\n`;
  }
  return text;
}

/**
 * The dataset file, written inside the labels folder. Ultralytics finds an
 * image's labels by replacing the last `/images/` of its resolved path with
 * `/labels/`, so the labels folder sits beside the images folder: `path`
 * is the folder holding both (absolute: Ultralytics resolves a relative one
 * against its own datasets folder), and the images are `images` in it.
 */
export function yoloDataYaml(destination: string): string {
  return `# sam-amg export: class-agnostic masks as Ultralytics YOLO segmentation labels.
# Ultralytics finds each image's labels by replacing /images/ with /labels/ in its path,
# so this folder is the labels folder beside the images folder (${JSON.stringify(path.basename(path.resolve(destination)))} beside "images").
path: ${JSON.stringify(path.dirname(path.resolve(destination)))}
train: images
val: images
names:
  0: object
`;
}

/**
 * An image's label file: its file_name with `.txt`, straight inside the
 * labels folder, where `img2label_paths` looks for an image at that
 * file_name inside the images folder beside it. A file_name with a folder
 * named `images` in it has none: Ultralytics swaps the last `/images/` of the
 * image's path, that folder, for `/labels/`, so it would look for the
 * labels inside the images folder; the file is refused, named with why.
 */
export function yoloLabelPath(dir: string, fileName: string): string {
  if (fileName.split('/').slice(0, -1).includes('images')) {
    throw new Error(`Ultralytics would look for the labels of ${JSON.stringify(fileName)} in a labels folder inside the images folder `
      + '(it swaps the last /images/ of an image\'s path for /labels/), not in this export; rename its folder named images');
  }
  return placeInside(dir, withExtension(fileName, '.txt'));
}

export async function writeYoloLabels(dir: string, file: Sa1bFile, annotations: readonly Sa1bAnnotation[], simplify: number): Promise<void> {
  const target = yoloLabelPath(dir, file.image.file_name);
  await mkdir(path.dirname(target), { recursive: true });
  await writeFile(target, yoloLines(file, annotations, simplify));
}
