import { expect, it } from 'vitest';
import { float16Bits, fromFloat16, toFloat16 } from '../../src/model/float16.js';

it('rounds to the nearest float16, ties to even, with IEEE special values', () => {
  const cases: [number, number][] = [
    [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.1, 0x2e66], [1 / 3, 0x3555],
    [65504, 0x7bff], [65519, 0x7bff], [65520, 0x7c00], [1e6, 0x7c00], [-Infinity, 0xfc00], [NaN, 0x7e00],
    [2 ** -14, 0x0400], [2 ** -24, 0x0001], [2 ** -25, 0x0000], [1.5 * 2 ** -25, 0x0001], [3 * 2 ** -25, 0x0002],
    [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [2 ** -14 - 2 ** -25, 0x0400],
  ];
  for (const [x, bits] of cases) expect(float16Bits(x), String(x)).toBe(bits);
});

it('decodes every float16 and encodes it back to the same bits', () => {
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  const values = fromFloat16(all);
  expect(values[0x3c00]).toBe(1);
  expect(values[0x0001]).toBe(2 ** -24);
  expect(values[0xfbff]).toBe(-65504);
  expect(values[0x7c00]).toBe(Infinity);
  const back = toFloat16(values);
  for (let h = 0; h < 65536; h++) {
    const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
    if (!isNaN) expect(back[h]).toBe(h);
  }
});
