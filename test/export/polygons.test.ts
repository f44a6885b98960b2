import { describe, expect, it } from 'vitest';
import { componentStarts, joinRings, maskInBox, maskPolygon, outerRings, simplifyRing, type Ring } from '../../src/export/polygons.js';
import { encodeCountsString } from '../../src/rle/coco-string.js';
import { rleFromRowMajor } from '../../src/rle/rle.js';
import { fillPoly } from './ultralytics.js';
import { firstPixelsByFlood } from '../helpers.js';

/** A row-major mask from rows of '#' (inside) and '.' (outside). */
function mask(rows: string[]): { data: Uint8Array; width: number; height: number } {
  const height = rows.length;
  const width = rows[0].length;
  const data = new Uint8Array(width * height);
  rows.forEach((row, y) => [...row].forEach((c, x) => { data[y * width + x] = c === '#' ? 1 : 0; }));
  return { data, width, height };
}

function rowsOf(data: Uint8Array, width: number): string[] {
  const rows: string[] = [];
  for (let y = 0; y * width < data.length; y++) rows.push([...data.subarray(y * width, (y + 1) * width)].map((v) => (v ? '#' : '.')).join(''));
  return rows;
}

const segmentationOf = (m: ReturnType<typeof mask>) => {
  const rle = rleFromRowMajor(m.data, m.height, m.width);
  return { size: [m.height, m.width] as [number, number], counts: encodeCountsString(rle.counts) };
};

describe('mask outlines as polygons', () => {
  // Every expected ring here is what OpenCV 4.6's findContours(RETR_EXTERNAL, CHAIN_APPROX_SIMPLE) gives, in its order reversed.
  it('vertices on the boundary pixels, counter-clockwise on screen from the first pixel: a pixel is one vertex, a rectangle four', () => {
    const one = mask(['...', '.#.', '...']);
    expect(outerRings(one.data, one.width, one.height)).toEqual([[1, 1]]);
    const rect = mask(['.....', '.###.', '.###.', '.....']);
    expect(outerRings(rect.data, rect.width, rect.height)).toEqual([[1, 1, 1, 2, 3, 2, 3, 1]]);
  });

  it('an L: a vertex wherever the step changes direction, the way back along the inner corner included', () => {
    const l = mask(['#..', '#..', '###']);
    expect(outerRings(l.data, l.width, l.height)).toEqual([[0, 0, 0, 2, 2, 2, 1, 2, 0, 1]]);
  });

  it('diagonal neighbours are one component (8-connectivity): a diagonal line is its two ends', () => {
    const d = mask(['#.', '.#']);
    expect(outerRings(d.data, d.width, d.height)).toEqual([[0, 0, 1, 1]]);
  });

  it('holes get no ring, nor does a component inside a hole; separate components each get one', () => {
    const m = mask([
      '#######....',
      '#.....#..##',
      '#.###.#..##',
      '#.....#....',
      '#######....',
    ]);
    expect(outerRings(m.data, m.width, m.height)).toEqual([[0, 0, 0, 4, 6, 4, 6, 0], [9, 1, 9, 2, 10, 2, 10, 1]]);
  });

  it('filling the polygon of a mask as cv2.fillPoly does gives the mask back with its holes filled, components joined by bridges', () => {
    const m = mask([
      '..........',
      '.####.....',
      '.#..#..##.',
      '.####..##.',
      '.........#',
      '...##....#',
    ]);
    const polygon = maskPolygon(segmentationOf(m));
    // Three components (the right-hand square and the column touch diagonally), ringed in the order of their first pixels.
    expect(polygon).toEqual([1, 1, 1, 3, 4, 3, 7, 3, 4, 5, 3, 5, 4, 5, 7, 3, 8, 3, 9, 4, 9, 5, 9, 4, 8, 3, 8, 2, 7, 2, 7, 3, 4, 3, 4, 1]);
    // fillPoly draws every edge, so the bridges, walked there and back, add the pixels they cross: (5, 3), (6, 3), (5, 4), (6, 4).
    // (The same rows as real cv2.fillPoly gives for this polygon.)
    expect(rowsOf(fillPoly([polygon], m.width, m.height), m.width)).toEqual([
      '..........',
      '.####.....',
      '.####..##.',
      '.########.',
      '.....##..#',
      '...##....#',
    ]);
  });

  it('joins rings the way merge_multi_segment does: forward to the last ring, around it, and back', () => {
    const a: Ring = [0, 0, 2, 0, 2, 2, 0, 2];
    const b: Ring = [5, 0, 7, 0, 7, 2, 5, 2];
    // Closest vertices: a's (2, 0) and b's (5, 0).
    expect(joinRings([a, b])).toEqual([0, 0, 2, 0, 5, 0, 7, 0, 7, 2, 5, 2, 5, 0, 2, 0, 2, 2, 0, 2]);
  });

  it('simplifies a staircase within the tolerance and keeps a square as it is', () => {
    // A right triangle made of steps: OpenCV's contour runs down, along the bottom and up the hypotenuse in one diagonal.
    const stairs = mask(['#....', '##...', '###..', '####.', '#####']);
    const [ring] = outerRings(stairs.data, stairs.width, stairs.height);
    expect(ring).toEqual([0, 0, 0, 4, 4, 4]);
    const blocky = mask(['##....', '##....', '####..', '####..', '######', '######']);
    const [steps] = outerRings(blocky.data, blocky.width, blocky.height);
    expect(steps).toEqual([0, 0, 0, 5, 5, 5, 5, 4, 4, 4, 3, 3, 3, 2, 2, 2, 1, 1, 1, 0]);
    expect(simplifyRing(steps, 1)).toEqual([0, 0, 0, 5, 5, 5]);
    expect(simplifyRing([0, 0, 0, 4, 4, 4, 4, 0], 1)).toEqual([0, 0, 0, 4, 4, 4, 4, 0]);
    // Never below three vertices.
    expect(simplifyRing(steps, 100).length).toBeGreaterThanOrEqual(6);
  });

  it('takes each component\'s first pixel from the RLE labeller small-region cleanup uses, as flooding the raster finds them', () => {
    let seed = 7;
    const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (const density of [0.2, 0.45, 0.6, 0.9]) {
      for (const [width, height] of [[1, 1], [1, 9], [9, 1], [17, 13], [64, 40]]) {
        const data = new Uint8Array(width * height).map(() => (next() < density ? 1 : 0));
        const starts = componentStarts(rleFromRowMajor(data, height, width));
        expect(starts, `${width}x${height} at ${density}`).toEqual(firstPixelsByFlood(data, width, height));
      }
    }
    // A U whose arms meet only at the bottom, and diagonal steps: one component each.
    const u = mask(['#.#', '#.#', '###', '...', '#..', '.#.', '..#']);
    expect(componentStarts(rleFromRowMajor(u.data, u.height, u.width))).toEqual([0, 0, 0, 4]);
  });

  it('places the box of a COCO RLE (rleBoxXyxy\'s), runs crossing columns included', () => {
    const m = mask(['....', '...#', '#..#', '#...']);
    const box = maskInBox(rleFromRowMajor(m.data, m.height, m.width))!;
    expect(box).toMatchObject({ x0: 0, y0: 1, width: 4, height: 3 });
    expect(rowsOf(box.data, box.width)).toEqual(['...#', '#..#', '#...']);
    expect(maskInBox(rleFromRowMajor(new Uint8Array(4), 2, 2))).toBeUndefined();
    // A run over whole columns.
    const tall = mask(['.##', '.##', '.##']);
    expect(maskInBox(rleFromRowMajor(tall.data, 3, 3))).toMatchObject({ x0: 1, y0: 0, width: 2, height: 3 });
  });
});

