import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Sa1bAnnotation, Sa1bFile } from '../output/sa1b.js';
import { maskPolygon } from './polygons.js';

/**
 * Ultralytics YOLO segmentation labels: `labels/<file_name without
 * extension>.txt`, one line per mask, `0 x1 y1 … xn yn` with the polygon's
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
 * The dataset file. `path` is the export's absolute folder: Ultralytics
 * resolves a relative one against its own datasets folder in most versions.
 */
export function yoloDataYaml(destination: string): string {
  return `# sam-amg export: class-agnostic masks as Ultralytics YOLO segmentation labels.
# Ultralytics finds each image's labels by replacing /images/ with /labels/ in its path,
# so put the images under images/ beside labels/ (a symlink to the image folder does).
path: ${JSON.stringify(path.resolve(destination))}
train: images
val: images
names:
  0: object
`;
}

export function yoloLabelPath(dir: string, fileName: string): string {
  const parsed = path.posix.parse(fileName);
  return path.join(dir, 'labels', ...parsed.dir.split('/').filter(Boolean), `${parsed.name}.txt`);
}

export async function writeYoloLabels(dir: string, file: Sa1bFile, annotations: readonly Sa1bAnnotation[], simplify: number): Promise<void> {
  const target = yoloLabelPath(dir, file.image.file_name);
  await mkdir(path.dirname(target), { recursive: true });
  await writeFile(target, yoloLines(file, annotations, simplify));
}
