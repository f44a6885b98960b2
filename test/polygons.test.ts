import { describe, expect, it } from 'vitest';
import { joinRings, labelComponents, labelsByFlood, maskInBox, maskPolygon, outerRings, simplifyRing, type Ring } from '../src/export/polygons.js';
import { encodeCountsString } from '../src/rle/coco-string.js';
import { rleFromRowMajor } from '../src/rle/rle.js';
import { fillPolygon } from './helpers.js';

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
  it('a single pixel and a rectangle: their four corners, clockwise from the top-left', () => {
    const one = mask(['...', '.#.', '...']);
    expect(outerRings(one.data, one.width, one.height)).toEqual([[1, 1, 2, 1, 2, 2, 1, 2]]);
    const rect = mask(['.....', '.###.', '.###.', '.....']);
    expect(outerRings(rect.data, rect.width, rect.height)).toEqual([[1, 1, 4, 1, 4, 3, 1, 3]]);
  });

  it('an L: six corners, collinear ones dropped', () => {
    const l = mask(['#..', '#..', '###']);
    expect(outerRings(l.data, l.width, l.height)).toEqual([[0, 0, 1, 0, 1, 2, 3, 2, 3, 3, 0, 3]]);
  });

  it('diagonal neighbours are one component (8-connectivity), its ring touching itself at the shared corner', () => {
    const d = mask(['#.', '.#']);
    expect(outerRings(d.data, d.width, d.height)).toEqual([[0, 0, 1, 0, 1, 1, 2, 1, 2, 2, 1, 2, 1, 1, 0, 1]]);
  });

  it('holes get no ring, nor does a component inside a hole; separate components each get one', () => {
    const m = mask([
      '#######....',
      '#.....#..##',
      '#.###.#..##',
      '#.....#....',
      '#######....',
    ]);
    const rings = outerRings(m.data, m.width, m.height);
    expect(rings).toEqual([[0, 0, 7, 0, 7, 5, 0, 5], [9, 1, 11, 1, 11, 3, 9, 3]]);
  });

  it('filling the polygon of a mask gives the mask back with its holes filled, components joined by zero-area bridges', () => {
    const m = mask([
      '..........',
      '.####.....',
      '.#..#..##.',
      '.####..##.',
      '.........#',
      '...##....#',
    ]);
    const polygon = maskPolygon(segmentationOf(m));
    expect(rowsOf(fillPolygon(polygon, m.width, m.height), m.width)).toEqual([
      '..........',
      '.####.....',
      '.####..##.',
      '.####..##.',
      '.........#',
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
    // A right triangle made of steps: corners at each step of the hypotenuse.
    const stairs = mask(['#...', '##..', '###.', '####']);
    const [ring] = outerRings(stairs.data, stairs.width, stairs.height);
    expect(ring).toEqual([0, 0, 1, 0, 1, 1, 2, 1, 2, 2, 3, 2, 3, 3, 4, 3, 4, 4, 0, 4]);
    const simple = simplifyRing(ring, 1);
    expect(simple).toEqual([0, 0, 4, 4, 0, 4]);
    expect(simplifyRing([0, 0, 4, 0, 4, 4, 0, 4], 1)).toEqual([0, 0, 4, 0, 4, 4, 0, 4]);
    // Never below three vertices.
    expect(simplifyRing(ring, 100).length).toBeGreaterThanOrEqual(6);
  });

  it('labels components from row runs exactly as flooding them pixel by pixel does', () => {
    let seed = 7;
    const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (const density of [0.2, 0.45, 0.6, 0.9]) {
      for (const [width, height] of [[1, 1], [1, 9], [9, 1], [17, 13], [64, 40]]) {
        const data = new Uint8Array(width * height).map(() => (next() < density ? 1 : 0));
        const fast = labelComponents(data, width, height);
        const reference = labelsByFlood(data, width, height);
        expect(Array.from(fast.label), `${width}x${height} at ${density}`).toEqual(Array.from(reference.label));
        expect(fast.first).toEqual(reference.first);
      }
    }
    // A U whose arms meet only at the bottom, and diagonal steps: one component each.
    const u = mask(['#.#', '#.#', '###', '...', '#..', '.#.', '..#']);
    expect(labelComponents(u.data, u.width, u.height).first).toEqual([0, 12]);
  });

  it('places the box of a COCO RLE, runs crossing columns included', () => {
    const m = mask(['....', '...#', '#..#', '#...']);
    expect(maskInBox(segmentationOf(m))).toMatchObject({ x0: 0, y0: 1, width: 4, height: 3 });
    expect(maskInBox(segmentationOf(mask(['..', '..'])))).toBeUndefined();
  });
});
