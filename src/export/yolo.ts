import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { placeInside, withExtension } from '../output/layout.js';
import type { Sa1bAnnotation, Sa1bFile } from '../output/sa1b.js';
import { maskPolygon } from './polygons.js';

/**
 * Ultralytics YOLO segmentation labels: `<file_name without extension>.txt`
 * in the labels folder, one line per mask, `0 x1 y1 … xn yn` with the polygon's
 * vertices divided by the image's width and height, 6 decimals.
 */
export function yoloLines(file: Sa1bFile, annotations: readonly Sa1bAnnotation[], simplify: number): string {
  const { width, height } = file.image;
  let text = '';
  for (const a of annotations) {
    const ring = maskPolygon(a.segmentation, simplify);
    if (ring.length < 6) continue;
    let line = '0';
    for (let i = 0; i < ring.length; i += 2) line += ` ${(ring[i] / width).toFixed(6)} ${(ring[i + 1] / height).toFixed(6)}`;
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

/** An image's label file: its file_name with `.txt`, straight inside the labels folder. */
export function yoloLabelPath(dir: string, fileName: string): string {
  return placeInside(dir, withExtension(fileName, '.txt'));
}

export async function writeYoloLabels(dir: string, file: Sa1bFile, annotations: readonly Sa1bAnnotation[], simplify: number): Promise<void> {
  const target = yoloLabelPath(dir, file.image.file_name);
  await mkdir(path.dirname(target), { recursive: true });
  await writeFile(target, yoloLines(file, annotations, simplify));
}
