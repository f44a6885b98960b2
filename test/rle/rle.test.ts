import { describe, expect, it } from 'vitest';
import { decodeCountsString, encodeCountsString } from '../../src/rle/coco-string.js';
import {
  rleArea, rleBoxXyxy, rleFromColumnMajor, rleFromRowMajor, rleToColumnMajor, rleToRowMajor,
} from '../../src/rle/rle.js';

describe('COCO RLE string codec', () => {
  // Hand-encoded with pycocotools' rule: 5-bit groups, LSB first, 0x20 = more,
  // a group with 0x10 set needs a following group unless the rest is -1; +48.
  it.each([
    [[0], '0'],
    [[15], '?'], // 15 + 48, no sign bit
    [[16], '`0'], // 16 has bit 4 set: 16 | 0x20 = 48, +48 = '`', then a 0 group
    [[31], 'o0'], // 31 | 0x20 = 63, +48 = 'o', then a 0 group
  ])('encodes %j as %s', (counts, expected) => {
    expect(encodeCountsString(counts)).toBe(expected);
  });

  it('encodes runs of 0, 31, 32, 1023 and 1024 and larger', () => {
    // 32 = 0b1_00000: group 0 (more) -> 'P', group 1 -> '1'.
    expect(encodeCountsString([32])).toBe('P1');
    // 1023 = two groups of 31, each with bit 4 set, so a third 0 group: 'o' 'o' '0'.
    expect(encodeCountsString([1023])).toBe('oo0');
    // 1024 = 0b1_00000_00000: 'P' 'P' '1'.
    expect(encodeCountsString([1024])).toBe('PP1');
    // 1,000,000 = 0b11110_10000_10010_00000: groups 0, 18, 16, 30 -> 'P', 'b', '`' (16|0x20=48 -> '`'), 'n' then 0 group since 30 has bit 4 set.
    expect(encodeCountsString([1_000_000])).toBe('Pb`n0');
    expect(encodeCountsString([0, 31, 32, 1023, 1024])).toBe(
      // i=0: 0 -> '0'; i=1: 31 -> 'o0'; i=2: 32 (not differenced) -> 'P1';
      // i=3: 1023 - 31 = 992 = 0b11111_00000 -> 'P' 'o' '0';
      // i=4: 1024 - 32 = 992 -> 'Po0'.
      '0o0P1Po0Po0',
    );
  });

  it('differences from the fourth count on and encodes negatives', () => {
    // i=3: 4 - 10 = -6 -> 26 with bit 4 set and rest -1 -> one group: 26 + 48 = 'J'.
    expect(encodeCountsString([5, 10, 3, 4])).toBe('5:3J');
    expect(Array.from(decodeCountsString('5:3J'))).toEqual([5, 10, 3, 4]);
  });

  it('round-trips arbitrary counts', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let t = 0; t < 200; t++) {
      const counts = Array.from({ length: 1 + Math.floor(rand() * 40) }, () => Math.floor(rand() ** 3 * 5_000_000));
      expect(Array.from(decodeCountsString(encodeCountsString(counts)))).toEqual(counts);
    }
  });

  it('rejects malformed strings', () => {
    expect(() => decodeCountsString('P')).toThrow(/truncated/);
    expect(() => decodeCountsString('0 ')).toThrow(/invalid RLE character/);
  });
});

describe('uncompressed RLE', () => {
  const h = 3;
  const w = 4;
  // Row-major 3×4:
  // 1 1 0 0
  // 0 1 0 1
  // 0 1 0 1
  const rowMajor = Uint8Array.from([1, 1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1]);

  it('counts in column-major order, starting with a possibly empty 0-run', () => {
    // Column-major: col0 1 0 0, col1 1 1 1, col2 0 0 0, col3 0 1 1
    // -> runs: 0 zeros, 1 one, 2 zeros, 3 ones, 4 zeros, 2 ones.
    const rle = rleFromRowMajor(rowMajor, h, w);
    expect(rle.size).toEqual([3, 4]);
    expect(Array.from(rle.counts)).toEqual([0, 1, 2, 3, 4, 2]);
    expect(Array.from(rleToRowMajor(rle))).toEqual(Array.from(rowMajor));
    expect(rleArea(rle)).toBe(6);
    expect(rleBoxXyxy(rle)).toEqual([0, 0, 3, 2]);
  });

  it('encodes empty and full masks', () => {
    const empty = rleFromColumnMajor(new Uint8Array(12), 3, 4);
    expect(Array.from(empty.counts)).toEqual([12]);
    expect(encodeCountsString(empty.counts)).toBe('<'); // 12 + 48
    expect(rleArea(empty)).toBe(0);
    expect(rleBoxXyxy(empty)).toEqual([0, 0, 0, 0]);
    const full = rleFromColumnMajor(new Uint8Array(12).fill(1), 3, 4);
    expect(Array.from(full.counts)).toEqual([0, 12]);
    expect(encodeCountsString(full.counts)).toBe('0<');
    expect(rleBoxXyxy(full)).toEqual([0, 0, 3, 2]);
    expect(Array.from(rleToColumnMajor(full))).toEqual(Array(12).fill(1));
  });

  it('gives a one-pixel box with equal corners (inclusive)', () => {
    const m = new Uint8Array(12);
    m[1 * 4 + 2] = 1; // row 1, column 2
    expect(rleBoxXyxy(rleFromRowMajor(m, 3, 4))).toEqual([2, 1, 2, 1]);
  });

  it('finds the box of runs that wrap across columns', () => {
    const m = new Uint8Array(5 * 3);
    // column-major: column 0 rows 3..4, column 1 rows 0..1 -> one run of 4
    m[3] = m[4] = m[5] = m[6] = 1;
    const rle = rleFromColumnMajor(m, 5, 3);
    expect(Array.from(rle.counts)).toEqual([3, 4, 8]);
    expect(rleBoxXyxy(rle)).toEqual([0, 0, 1, 4]);
  });

  it('rejects counts that do not fill the mask', () => {
    expect(() => rleToColumnMajor({ size: [2, 2], counts: Uint32Array.from([1, 2]) })).toThrow(/sum to 3/);
  });
});
