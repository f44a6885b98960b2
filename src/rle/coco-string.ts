/**
 * COCO's compressed RLE string, byte-identical to pycocotools'
 * rleToString / rleFrString: each count (from the fourth on, as a difference
 * to the count two before it) in 5-bit groups, least significant first, with
 * 0x20 as the "more" flag, offset by 48 into printable ASCII.
 */
export function encodeCountsString(counts: ArrayLike<number>): string {
  const chars: number[] = [];
  for (let i = 0; i < counts.length; i++) {
    let x = counts[i];
    // pycocotools differences from i > 2, not i >= 2: counts[2] is sent whole.
    if (i > 2) x -= counts[i - 2];
    let more = true;
    while (more) {
      let c = x & 0x1f;
      // Arithmetic shift on values that may exceed 32 bits.
      x = Math.floor(x / 32);
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      chars.push(c + 48);
    }
  }
  return charCodesToString(chars);
}

// fromCharCode takes its codes as arguments; big masks exceed the call stack.
function charCodesToString(codes: number[]): string {
  let s = '';
  for (let i = 0; i < codes.length; i += 8192) {
    s += String.fromCharCode(...codes.slice(i, i + 8192));
  }
  return s;
}

export function decodeCountsString(s: string): Uint32Array {
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      if (p >= s.length) throw new Error(`truncated RLE string at character ${p}`);
      const c = s.charCodeAt(p) - 48;
      if (c < 0 || c > 63) throw new Error(`invalid RLE character ${JSON.stringify(s[p])} at ${p}`);
      x += (c & 0x1f) * 2 ** (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && c & 0x10) x -= 2 ** (5 * k);
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    if (x < 0) throw new Error(`negative run length in RLE string at character ${p}`);
    counts.push(x);
  }
  return Uint32Array.from(counts);
}
