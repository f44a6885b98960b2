import { describe, expect, it } from 'vitest';
import { removeSmallRegions } from '../../src/amg/regions.js';
import { rleFromRowMajor, rleToRowMajor } from '../../src/rle/rle.js';

function grid(text: string) {
  const rows = text.trim().split('\n').map((r) => r.trim().split(/\s+/).map(Number));
  const h = rows.length;
  const w = rows[0].length;
  return { rle: rleFromRowMajor(Uint8Array.from(rows.flat()), h, w), h, w };
}

function show(rle: ReturnType<typeof grid>['rle']): string {
  const [h, w] = rle.size;
  const m = rleToRowMajor(rle);
  const rows: string[] = [];
  for (let y = 0; y < h; y++) rows.push(Array.from(m.subarray(y * w, (y + 1) * w)).join(' '));
  return rows.join('\n');
}

describe('removeSmallRegions', () => {
  const mask = grid(`
    1 1 1 1 0 0
    1 0 1 1 0 0
    1 1 1 1 0 0
    0 0 0 0 0 1
    0 0 0 0 1 0
    1 0 0 0 0 0`);

  it('fills holes smaller than the area (8-connected background)', () => {
    const { rle, changed } = removeSmallRegions(mask.rle, 2, 'holes');
    expect(changed).toBe(true);
    expect(show(rle)).toBe([
      '1 1 1 1 0 0',
      '1 1 1 1 0 0',
      '1 1 1 1 0 0',
      '0 0 0 0 0 1',
      '0 0 0 0 1 0',
      '1 0 0 0 0 0',
    ].join('\n'));
  });

  it('removes islands smaller than the area; a diagonal pair is one 8-connected island', () => {
    const { rle, changed } = removeSmallRegions(mask.rle, 2, 'islands');
    expect(changed).toBe(true);
    expect(show(rle)).toBe([
      '1 1 1 1 0 0',
      '1 0 1 1 0 0',
      '1 1 1 1 0 0',
      '0 0 0 0 0 1',
      '0 0 0 0 1 0',
      '0 0 0 0 0 0',
    ].join('\n'));
  });

  it('reports unchanged masks as unchanged', () => {
    const solid = grid(`
      0 0 0
      0 1 1
      0 1 1`);
    expect(removeSmallRegions(solid.rle, 3, 'holes').changed).toBe(false);
    expect(removeSmallRegions(solid.rle, 3, 'islands')).toEqual({ rle: solid.rle, changed: false });
    const empty = grid(`
      0 0
      0 0`);
    expect(removeSmallRegions(empty.rle, 3, 'islands').changed).toBe(false);
  });

  it('keeps the largest island when every island is small', () => {
    const m = grid(`
      1 0 0 0 0
      0 0 0 1 1
      0 0 0 0 0`);
    expect(show(removeSmallRegions(m.rle, 5, 'islands').rle)).toBe([
      '0 0 0 0 0',
      '0 0 0 1 1',
      '0 0 0 0 0',
    ].join('\n'));
  });

  it('counts a background region touching the border as a hole when it is small', () => {
    const m = grid(`
      0 1 1
      1 1 1
      1 1 1`);
    expect(show(removeSmallRegions(m.rle, 2, 'holes').rle)).toBe('1 1 1\n1 1 1\n1 1 1');
  });
});
