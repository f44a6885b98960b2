import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportLabels } from '../../src/export/export.js';
import { outerRings } from '../../src/export/polygons.js';
import { yoloCoordinate } from '../../src/export/yolo.js';
import { toSa1b } from '../../src/output/sa1b.js';
import { encodeCountsString } from '../../src/rle/coco-string.js';
import { rleArea, rleBoxXyxy, rleFromRowMajor } from '../../src/rle/rle.js';
import { holesFilled, maskIou, tempDir } from '../helpers.js';
import { fillPoly, img2labelPath, ultralyticsImages, ultralyticsMask, ultralyticsPolygon, ultralyticsSplits } from './ultralytics.js';

/**
 * The YOLO export against what Ultralytics does with it (issue 29): each
 * label line, read and filled as Ultralytics' training does (test/export/ultralytics.ts,
 * whose fill is checked here against real OpenCV), gives the mask back; and
 * Ultralytics finds every image's label file in the README's layout.
 */

interface Fixtures {
  fillPoly: { width: number; height: number; polygons: number[][]; mask: string[] }[];
  findContours: { width: number; height: number; mask: string[]; contours: number[][] }[];
}
const FIXTURES = JSON.parse(readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'opencv-polygons.json'), 'utf8')) as Fixtures;
const bits = (rows: string[]) => Uint8Array.from(rows.join(''), (c) => (c === '1' ? 1 : 0));

/** A width × height mask holding the pixels `inside` says. */
function shape(width: number, height: number, inside: (x: number, y: number) => boolean): Uint8Array {
  const m = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if (inside(x, y)) m[y * width + x] = 1;
  return m;
}


/**
 * The pixels cv2.fillPoly draws for the polygon's bridges: the edges walked
 * both ways (a to b and b to a), the way merge_multi_segment ties components.
 */
function bridgePixels(polygon: number[], width: number, height: number): Uint8Array {
  const n = polygon.length / 2;
  const edge = (i: number) => [polygon[2 * i], polygon[2 * i + 1], polygon[2 * ((i + 1) % n)], polygon[2 * ((i + 1) % n) + 1]];
  const both = new Set<string>();
  for (let i = 0; i < n; i++) both.add(edge(i).join());
  const out = new Uint8Array(width * height);
  for (let i = 0; i < n; i++) {
    const [ax, ay, bx, by] = edge(i);
    if (both.has([bx, by, ax, ay].join())) fillPoly([[ax, ay, bx, by]], width, height).forEach((v, p) => { if (v) out[p] = 1; });
  }
  return out;
}

/** Writes per-image outputs, as a run would, into `dir`: one annotation per mask. */
function writeOutputs(dir: string, images: { file_name: string; width: number; height: number; masks: Uint8Array[] }[]): void {
  for (const { file_name, width, height, masks } of images) {
    const records = masks.map((m) => {
      const rle = rleFromRowMajor(m, height, width);
      const [x0, y0, x1, y1] = rleBoxXyxy(rle);
      return {
        segmentation: { size: [height, width] as [number, number], counts: encodeCountsString(rle.counts) },
        area: rleArea(rle),
        bbox: [x0, y0, x1 - x0, y1 - y0] as [number, number, number, number],
        predicted_iou: 0.9,
        point_coords: [[x0, y0]] as [[number, number]],
        stability_score: 0.95,
        crop_box: [0, 0, width, height] as [number, number, number, number],
      };
    });
    const target = path.join(dir, file_name.replace(/\.[^.]+$/, '.json'));
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, JSON.stringify(toSa1b(records, { width, height, file_name })));
  }
}

describe('the test\'s OpenCV, against real OpenCV (test/fixtures/opencv-polygons.json, from scripts/opencv-polygon-fixtures.py)', () => {
  it('fillPoly: every polygon of the fixtures (any slope, repeated vertices, two polygons at once) fills the same pixels as cv2.fillPoly', () => {
    expect(FIXTURES.fillPoly.length).toBeGreaterThan(100);
    for (const [k, c] of FIXTURES.fillPoly.entries()) {
      expect(Array.from(fillPoly(c.polygons, c.width, c.height)), `case ${k}: ${JSON.stringify(c.polygons)}`).toEqual(Array.from(bits(c.mask)));
    }
  });

  it('the export\'s outlines are cv2.findContours(RETR_EXTERNAL, CHAIN_APPROX_SIMPLE)\'s, vertex for vertex (its list comes last found first)', () => {
    expect(FIXTURES.findContours.length).toBeGreaterThan(100);
    for (const [k, c] of FIXTURES.findContours.entries()) {
      expect(outerRings(bits(c.mask), c.width, c.height), `case ${k}: ${c.mask.join('/')}`).toEqual([...c.contours].reverse());
    }
  });
});

describe('YOLO labels as Ultralytics reads and fills them', () => {
  it('a vertex\'s coordinate text brings its pixel back through float32 and float64 and int32 truncation, at every pixel of many sizes', () => {
    const lost: string[] = [];
    for (const size of [1, 2, 3, 7, 10, 100, 640, 1000, 1080, 1920, 3000, 4032, 5472, 8192, 12345, 65535]) {
      for (let pixel = 0; pixel < size; pixel++) {
        const text = yoloCoordinate(pixel, size);
        const value = Number(text);
        if (!/^0\.\d{6,15}$/.test(text) || Math.trunc(value * size) !== pixel || Math.trunc(Math.fround(Math.fround(value) * size)) !== pixel) {
          lost.push(`${pixel}/${size} as ${text}`);
        }
      }
    }
    expect(lost).toEqual([]);
    // Where 6 decimals rounded to nearest fall under the pixel (in float64, or only in float32), they are rounded up instead.
    expect((3 / 640).toFixed(6)).toBe('0.004687');
    expect(Math.trunc(0.004687 * 640)).toBe(2);
    expect(yoloCoordinate(3, 640)).toBe('0.004688');
    expect(Math.trunc(0.06275 * 4000)).toBe(251);
    expect(Math.trunc(Math.fround(Math.fround(0.06275) * 4000))).toBe(250);
    expect(yoloCoordinate(251, 4000)).toBe('0.062751');
  });

  it('every mask comes back from its line: exactly without holes, holes filled, several components joined by bridges', async () => {
    const [W, H] = [64, 48];
    const small: Record<string, Uint8Array> = {
      rectangle: shape(W, H, (x, y) => x >= 10 && x < 30 && y >= 5 && y < 25),
      'single pixel': shape(W, H, (x, y) => x === 33 && y === 17),
      'single pixel in the top-left corner': shape(W, H, (x, y) => x === 0 && y === 0),
      'single pixel in the bottom-right corner': shape(W, H, (x, y) => x === W - 1 && y === H - 1),
      'horizontal line': shape(W, H, (x, y) => y === 20 && x >= 3 && x < 50),
      'vertical line at the right border': shape(W, H, (x, y) => x === W - 1 && y >= 4 && y < 40),
      'diagonal line': shape(W, H, (x, y) => x === y + 5 && y < 30),
      'anti-diagonal line': shape(W, H, (x, y) => x + y === 40 && y > 3 && y < 35),
      'two-pixel line': shape(W, H, (x, y) => y === 2 && (x === 7 || x === 8)),
      'L-shape': shape(W, H, (x, y) => (x >= 5 && x < 9 && y >= 5 && y < 30) || (x >= 5 && x < 25 && y >= 26 && y < 30)),
      'staircase triangle': shape(W, H, (x, y) => x >= 8 && y >= 4 && x - 8 <= y - 4 && y < 40),
      diamond: shape(W, H, (x, y) => Math.abs(x - 32) + Math.abs(y - 24) <= 15),
      disc: shape(W, H, (x, y) => (x - 30.3) ** 2 + (y - 22.7) ** 2 <= 14.2 ** 2),
      'whole image': shape(W, H, () => true),
      'along the left and top borders': shape(W, H, (x, y) => x < 3 || y < 2),
      'comb (one-pixel gaps)': shape(W, H, (x, y) => y >= 10 && y < 20 && (y >= 17 || x % 2 === 0) && x >= 4 && x < 40),
      'checkerboard patch (diagonal joins)': shape(W, H, (x, y) => x >= 20 && x < 28 && y >= 20 && y < 28 && (x + y) % 2 === 0),
      'ring (a hole)': shape(W, H, (x, y) => x >= 10 && x < 40 && y >= 10 && y < 40 && !(x >= 15 && x < 35 && y >= 15 && y < 35)),
      'ring with a dot inside': shape(W, H, (x, y) => (x >= 10 && x < 40 && y >= 10 && y < 40 && !(x >= 15 && x < 35 && y >= 15 && y < 35)) || (x === 25 && y === 25)),
      'two rectangles': shape(W, H, (x, y) => (x >= 2 && x < 12 && y >= 2 && y < 12) || (x >= 30 && x < 50 && y >= 20 && y < 40)),
      'three pieces: pixel, line, blob': shape(W, H, (x, y) => (x === 60 && y === 3) || (y === 44 && x >= 5 && x < 20) || ((x - 35) ** 2 + (y - 20) ** 2 <= 64)),
    };
    // Random blobs: a few overlapping rectangles and discs, some touching, some not.
    let seed = 29;
    const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let k = 0; k < 30; k++) {
      const parts = Array.from({ length: 1 + Math.floor(next() * 4) }, () => [next() * W, next() * H, 1 + next() * 9, next() < 0.5]);
      small[`random blobs ${k}`] = shape(W, H, (x, y) => parts.some(([cx, cy, r, round]) => (round
        ? (x - (cx as number)) ** 2 + (y - (cy as number)) ** 2 <= (r as number) ** 2
        : Math.abs(x - (cx as number)) <= (r as number) && Math.abs(y - (cy as number)) <= (r as number) / 2)));
    }
    // Photo-sized masks, where a hole or a bridge is a small part of the mask: IoU with the mask itself.
    const [PW, PH] = [640, 480];
    const large: Record<string, Uint8Array> = {
      'disc with a hole': shape(PW, PH, (x, y) => (x - 300) ** 2 + (y - 200) ** 2 <= 150 ** 2 && (x - 320) ** 2 + (y - 180) ** 2 > 12 ** 2),
      'three blobs': shape(PW, PH, (x, y) => (x - 100) ** 2 + (y - 100) ** 2 <= 60 ** 2 || (x - 300) ** 2 + (y - 150) ** 2 <= 80 ** 2
        || (x >= 400 && x < 600 && y >= 300 && y < 460)),
    };
    // A wide image: vertices at pixels where 6 decimals rounded to nearest would lose a pixel.
    const [WW, WH] = [4000, 6];
    const wide: Record<string, Uint8Array> = {
      'wide rectangle': shape(WW, WH, (x, y) => x >= 1234 && x <= 3999 && y >= 1 && y < 5),
      'wide pixel': shape(WW, WH, (x, y) => x === 1234 && y === 2),
    };

    const out = tempDir();
    const images = [
      { file_name: 'small.png', width: W, height: H, masks: Object.values(small) },
      { file_name: 'photo.jpg', width: PW, height: PH, masks: Object.values(large) },
      { file_name: 'wide.png', width: WW, height: WH, masks: Object.values(wide) },
    ];
    writeOutputs(out, images);
    const labels = path.join(tempDir(), 'labels');
    const summary = await exportLabels({ out, format: 'yolo', to: labels });
    expect(summary).toMatchObject({ images: 3, masks: Object.keys({ ...small, ...large, ...wide }).length, failed: [], notes: [] });

    const names = [Object.keys(small), Object.keys(large), Object.keys(wide)];
    let exact = 0;
    let bridged = 0;
    for (const [i, image] of images.entries()) {
      const lines = readFileSync(path.join(labels, image.file_name.replace(/\.[^.]+$/, '.txt')), 'utf8').split('\n').filter(Boolean);
      expect(lines).toHaveLength(image.masks.length);
      for (const [k, line] of lines.entries()) {
        const name = names[i][k];
        const { width, height } = image;
        const mask = image.masks[k];
        const polygon = ultralyticsPolygon(line, width, height);
        // Ultralytics takes a line of under 3 points (7 values with the class) for a box, not a polygon.
        expect(polygon.length, name).toBeGreaterThanOrEqual(6);
        const filled = ultralyticsMask(line, width, height);
        const expected = holesFilled(mask, width, height);
        const starts = outerRings(mask, width, height).length;
        if (starts === 1) {
          // One outline: exactly the mask, holes filled.
          expect(maskIou(filled, expected), name).toBe(1);
          exact++;
        } else {
          // Several: the mask, holes filled, and nothing else but the pixels of the bridges between them.
          const bridges = bridgePixels(polygon, width, height);
          let missing = 0;
          let stray = 0;
          for (let p = 0; p < mask.length; p++) {
            if (expected[p] && !filled[p]) missing++;
            if (filled[p] && !expected[p] && !bridges[p]) stray++;
          }
          expect([missing, stray], name).toEqual([0, 0]);
          bridged++;
        }
        if (width === PW) expect(maskIou(filled, mask), name).toBeGreaterThanOrEqual(0.99);
      }
    }
    expect(exact).toBeGreaterThan(25);
    expect(bridged).toBeGreaterThan(5);
  });

  it('--simplify still yields lines Ultralytics fills close to the mask', async () => {
    const [W, H] = [200, 150];
    const disc = shape(W, H, (x, y) => (x - 90.4) ** 2 + (y - 70.2) ** 2 <= 50 ** 2);
    const out = tempDir();
    writeOutputs(out, [{ file_name: 'a.png', width: W, height: H, masks: [disc] }]);
    const exactDir = path.join(tempDir(), 'labels');
    const simpleDir = path.join(tempDir(), 'labels');
    await exportLabels({ out, format: 'yolo', to: exactDir });
    await exportLabels({ out, format: 'yolo', to: simpleDir, simplify: 1 });
    const exact = readFileSync(path.join(exactDir, 'a.txt'), 'utf8').trim();
    const simple = readFileSync(path.join(simpleDir, 'a.txt'), 'utf8').trim();
    expect(simple.split(' ').length).toBeLessThan(exact.split(' ').length / 2);
    expect(maskIou(ultralyticsMask(simple, W, H), disc)).toBeGreaterThanOrEqual(0.98);
  });
});

describe('the README\'s YOLO recipe, resolved as Ultralytics resolves it', () => {
  it('data.yaml leads Ultralytics to the images folder, and every image there to its label file (img2label_paths)', async () => {
    // /…/shop/images holds the images (sam-amg's input), the outputs are elsewhere, the export is /…/shop/labels.
    const root = tempDir();
    const images = path.join(root, 'shop', 'images');
    const names = ['a.jpg', 'sub/b.png', 'sub/deeper/c.d.JPG', 'with space.webp', 'été.jpeg'];
    for (const name of names) {
      mkdirSync(path.dirname(path.join(images, name)), { recursive: true });
      writeFileSync(path.join(images, name), 'not really an image; Ultralytics lists files by name');
    }
    const out = path.join(root, 'masks');
    const square = shape(20, 10, (x, y) => x >= 2 && x < 9 && y >= 3 && y < 8);
    writeOutputs(out, names.map((file_name) => ({ file_name, width: 20, height: 10, masks: [square] })));
    const labels = path.join(root, 'shop', 'labels');
    const summary = await exportLabels({ out, format: 'yolo', to: labels });
    expect(summary).toMatchObject({ images: names.length, failed: [], notes: [] });

    // Ultralytics' datasets folder is elsewhere: the yaml's path must not depend on it.
    const splits = ultralyticsSplits(path.join(labels, 'data.yaml'), path.join(root, 'ultralytics-datasets'));
    expect(splits).toEqual({ train: images, val: images });
    const listed = ultralyticsImages(splits.train);
    expect(listed).toEqual(names.map((n) => path.join(images, n)).sort());
    for (const image of listed) {
      const label = img2labelPath(image);
      expect(existsSync(label), `${image} -> ${label}`).toBe(true);
      expect(readFileSync(label, 'utf8')).toMatch(/^0( 0\.\d{6,}){8}\n$/);
    }
    // From another working directory too: the path is absolute.
    const cwd = process.cwd();
    try {
      process.chdir(root);
      expect(ultralyticsSplits(path.join(labels, 'data.yaml'), '/nonexistent')).toEqual(splits);
    } finally {
      process.chdir(cwd);
    }
  });

  it('an image under a folder named images has no label file Ultralytics would find: it is refused and named, the rest exported', async () => {
    const root = tempDir();
    const out = path.join(root, 'masks');
    const square = shape(12, 12, (x, y) => x > 2 && y > 2);
    writeOutputs(out, [
      { file_name: 'ok.png', width: 12, height: 12, masks: [square] },
      { file_name: 'sub/images/x.png', width: 12, height: 12, masks: [square] },
    ]);
    const labels = path.join(root, 'shop', 'labels');
    const summary = await exportLabels({ out, format: 'yolo', to: labels });
    expect(summary.images).toBe(1);
    expect(summary.failed).toEqual([{ path: path.join(out, 'sub/images/x.json'), reason: expect.stringContaining('in a labels folder inside the images folder') }]);
    expect(existsSync(path.join(labels, 'ok.txt'))).toBe(true);
    expect(existsSync(path.join(labels, 'sub/images/x.txt'))).toBe(false);
    // Ultralytics would have looked here, inside the images folder.
    expect(img2labelPath(path.join(root, 'shop', 'images', 'sub', 'images', 'x.png'))).toBe(path.join(root, 'shop', 'images', 'sub', 'labels', 'x.txt'));
  });
});
