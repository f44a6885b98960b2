/**
 * What Ultralytics does with a YOLO segmentation dataset, reimplemented for
 * the tests (no Python needed): where it looks for an image's label file,
 * how it reads a label line, and how `cv2.fillPoly` rasterises the polygon.
 * The fill is checked against real OpenCV by test/fixtures/opencv-polygons.json
 * (scripts/opencv-polygon-fixtures.py, which needs python3-opencv).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * `cv2.fillPoly(mask, polygons, 1)` on integer vertices (shift 0, LINE_8), as
 * OpenCV's drawing.cpp does it: CollectPolyEdges draws every edge of every
 * polygon with the 8-connected line iterator and keeps the non-horizontal
 * ones; FillEdgeCollection then fills, row by row, between consecutive
 * active edges in x order (even-odd over all polygons together), from the
 * left edge's x rounded up to the right edge's rounded down, in 16-bit fixed
 * point; an edge is active on rows y0 <= y < y1 and steps by its slope,
 * truncated to fixed point.
 */
export function fillPoly(polygons: readonly (readonly number[])[], width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  const SHIFT = 65536;
  const edges: { y0: number; y1: number; x: number; dx: number }[] = [];
  for (const poly of polygons) {
    const n = poly.length / 2;
    for (let i = 0; i < n; i++) {
      const j = (i + n - 1) % n;
      const [ax, ay, bx, by] = [poly[2 * j], poly[2 * j + 1], poly[2 * i], poly[2 * i + 1]];
      line(out, width, height, ax, ay, bx, by);
      if (ay === by) continue;
      const top = ay < by ? [ax, ay, by] : [bx, by, ay];
      // C++'s int64 division truncates toward zero.
      edges.push({ y0: top[1], y1: top[2], x: top[0] * SHIFT, dx: Math.trunc(((bx - ax) * SHIFT) / (by - ay)) });
    }
  }
  if (edges.length < 2) return out;
  const yMin = Math.min(...edges.map((e) => e.y0));
  const yMax = Math.min(Math.max(...edges.map((e) => e.y1)), height);
  const active: typeof edges = [];
  const pending = [...edges].sort((a, b) => a.y0 - b.y0 || a.x - b.x || a.dx - b.dx);
  let next = 0;
  for (let y = yMin; y < yMax; y++) {
    for (let k = active.length - 1; k >= 0; k--) if (active[k].y1 === y) active.splice(k, 1);
    while (next < pending.length && pending[next].y0 === y) active.push(pending[next++]);
    active.sort((a, b) => a.x - b.x);
    for (let k = 0; k + 1 < active.length; k += 2) {
      if (y >= 0) {
        const x1 = Math.max(0, Math.floor((active[k].x + SHIFT - 1) / SHIFT));
        const x2 = Math.min(width - 1, Math.floor(active[k + 1].x / SHIFT));
        for (let x = x1; x <= x2; x++) out[y * width + x] = 1;
      }
    }
    for (const e of active) e.x += e.dx;
  }
  return out;
}

/** OpenCV's 8-connected LineIterator, left to right (the points inside the image; the fixtures stay inside). */
function line(out: Uint8Array, width: number, height: number, ax: number, ay: number, bx: number, by: number): void {
  if (bx < ax) [ax, ay, bx, by] = [bx, by, ax, ay];
  let dx = bx - ax;
  let dy = by - ay;
  const stepY = dy < 0 ? -1 : 1;
  dy = Math.abs(dy);
  const steep = dy > dx;
  if (steep) [dx, dy] = [dy, dx];
  let err = dx - 2 * dy;
  let x = ax;
  let y = ay;
  for (let i = 0; i <= dx; i++) {
    if (x >= 0 && y >= 0 && x < width && y < height) out[y * width + x] = 1;
    const minor = err < 0;
    err += -2 * dy + (minor ? 2 * dx : 0);
    // The major axis always steps; the minor one when err was negative.
    if (steep) {
      y += stepY;
      if (minor) x += 1;
    } else {
      x += 1;
      if (minor) y += stepY;
    }
  }
}

/**
 * A label line's polygon as Ultralytics' training reads it: the values as
 * float32 (`verify_image_label`), multiplied by the image's width and height
 * in float32 (`Instances.denormalize`), cast to int32 (`polygon2mask`), which
 * truncates toward zero.
 */
export function ultralyticsPolygon(line: string, width: number, height: number): number[] {
  const [, ...values] = line.trim().split(/\s+/);
  return values.map((v, i) => Math.trunc(Math.fround(Math.fround(Number(v)) * (i % 2 === 0 ? width : height))));
}

/** `polygon2mask` of one label line at the image's own size (downsample ratio 1). */
export function ultralyticsMask(line: string, width: number, height: number): Uint8Array {
  return fillPoly([ultralyticsPolygon(line, width, height)], width, height);
}

/** Ultralytics' IMG_FORMATS (ultralytics/data/utils.py). */
const IMG_FORMATS = new Set(['bmp', 'dng', 'jpeg', 'jpg', 'mpo', 'png', 'tif', 'tiff', 'webp', 'pfm', 'heic']);

/** `img2label_paths`: the last `/images/` of the path becomes `/labels/`, the last extension `.txt`. */
export function img2labelPath(imagePath: string): string {
  const sa = `${path.sep}images${path.sep}`;
  const sb = `${path.sep}labels${path.sep}`;
  const at = imagePath.lastIndexOf(sa);
  const swapped = at < 0 ? imagePath : imagePath.slice(0, at) + sb + imagePath.slice(at + sa.length);
  const dot = swapped.lastIndexOf('.');
  return `${dot < 0 ? swapped : swapped.slice(0, dot)}.txt`;
}

/**
 * The images of a split as `BaseDataset.get_img_files` lists a folder:
 * `glob(dir/**\/*.*, recursive=True)` (names with a dot, hidden entries
 * skipped as Python's glob skips them), kept when the text after the last
 * dot, lower-cased, is an image format; sorted.
 */
export function ultralyticsImages(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      if (name.startsWith('.')) continue;
      const full = path.join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.includes('.') && IMG_FORMATS.has(name.slice(name.lastIndexOf('.') + 1).toLowerCase())) found.push(full);
    }
  };
  walk(dir);
  return found.sort();
}

/** The few YAML forms a data.yaml of ours holds: `key: "JSON string"`, `key: plain`, and a `names:` block. */
function readDataYaml(file: string): Record<string, string> {
  const data: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = line.match(/^([a-z_]+):\s*(.*)$/);
    if (!m || m[2] === '') continue;
    data[m[1]] = m[2].startsWith('"') ? JSON.parse(m[2]) : m[2].trim();
  }
  return data;
}

/**
 * The train and val folders of a data.yaml as `check_det_dataset` resolves
 * them: `path` (or, without one, the YAML's own folder; a relative path that
 * does not exist goes under Ultralytics' datasets folder, `datasetsDir`),
 * joined with each split and resolved; a split starting `../` that does not
 * exist is tried without it.
 */
export function ultralyticsSplits(yamlFile: string, datasetsDir: string): { train: string; val: string } {
  const data = readDataYaml(yamlFile);
  let root = data.path || path.dirname(yamlFile);
  if (!path.isAbsolute(root) && !existsPath(root)) root = path.resolve(datasetsDir, root);
  const split = (k: string) => {
    let x = path.resolve(root, data[k]);
    if (!existsPath(x) && data[k].startsWith('../')) x = path.resolve(root, data[k].slice(3));
    return x;
  };
  return { train: split('train'), val: split('val') };
}

function existsPath(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}
