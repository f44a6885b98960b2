import type { Rle } from '../rle/rle.js';

/**
 * The candidate masks of an image as parallel columns, like the reference's
 * MaskData: `filter` keeps (and reorders to) the given indices, `cat` appends.
 */
export class MaskData {
  constructor(
    public rles: Rle[] = [],
    /** Inclusive XYXY boxes, 4 per mask. */
    public boxes = new Int32Array(0),
    public iouPreds = new Float32Array(0),
    public stability = new Float32Array(0),
    /** Prompt point (x, y), 2 per mask. */
    public points = new Float64Array(0),
    /** XYXY crop box, 4 per mask. */
    public cropBoxes = new Int32Array(0),
  ) {}

  /**
   * Set by batch processing when asked (hierarchical sampling's first pass):
   * the crop's pixels, row-major, where a kept mask's logit is above the
   * covering threshold. `filter` and `cat` leave it behind.
   */
  covered?: Uint8Array;

  get length(): number {
    return this.rles.length;
  }

  filter(keep: ArrayLike<number>): MaskData {
    return new MaskData(
      Array.from(keep, (i) => this.rles[i]),
      pick(this.boxes, keep, 4, Int32Array),
      pick(this.iouPreds, keep, 1, Float32Array),
      pick(this.stability, keep, 1, Float32Array),
      pick(this.points, keep, 2, Float64Array),
      pick(this.cropBoxes, keep, 4, Int32Array),
    );
  }

  static cat(parts: MaskData[]): MaskData {
    return new MaskData(
      parts.flatMap((p) => p.rles),
      join(parts.map((p) => p.boxes), Int32Array),
      join(parts.map((p) => p.iouPreds), Float32Array),
      join(parts.map((p) => p.stability), Float32Array),
      join(parts.map((p) => p.points), Float64Array),
      join(parts.map((p) => p.cropBoxes), Int32Array),
    );
  }
}

type TypedCtor<T> = new (n: number) => T;
type Numeric = Int32Array | Float32Array | Float64Array;

function pick<T extends Numeric>(src: T, keep: ArrayLike<number>, width: number, Ctor: TypedCtor<T>): T {
  const out = new Ctor(keep.length * width);
  for (let k = 0; k < keep.length; k++) {
    const from = keep[k] * width;
    for (let c = 0; c < width; c++) out[k * width + c] = src[from + c];
  }
  return out;
}

function join<T extends Numeric>(arrays: T[], Ctor: TypedCtor<T>): T {
  const out = new Ctor(arrays.reduce((n, a) => n + a.length, 0));
  let offset = 0;
  for (const a of arrays) {
    out.set(a, offset);
    offset += a.length;
  }
  return out;
}
