import type { CropBox } from './geometry.js';
import type { PromptModel } from './prompt-model.js';

/** An image too small or too thin for its crops: a failure of that image alone, found before any crop is encoded. */
export class CropBoundsError extends Error {
  override name = 'CropBoundsError';
}

/**
 * Why the image cannot be segmented with these crop boxes, or undefined when
 * it can: the first crop, in the reference's order, that has no pixels or
 * that the model cannot embed. The reference fails on that crop (its slice
 * `image[y0:y1, x0:x1]` is empty, or its resize gets a side of 0) after
 * spending the encoder on the crops before it; here the image is refused
 * before any, in one line.
 */
export function cropBoundsRefusal(
  imageWidth: number,
  imageHeight: number,
  crops: readonly CropBox[],
  model: Pick<PromptModel, 'cropSizeProblem'>,
): string | undefined {
  for (const crop of crops) {
    const [width, height] = cropSize(crop);
    const empty = width === 0 || height === 0;
    const problem = empty ? 'empty' : model.cropSizeProblem?.(width, height);
    if (problem === undefined) continue;
    const pixels = `${width}×${height} pixels`;
    // The layer-0 crop is the whole image, whose size is then the whole story.
    if (crop.layer === 0) return `${pixels} are ${problem}`;
    const layers = crops[crops.length - 1].layer;
    const tooSmall = `image of ${imageWidth}×${imageHeight} pixels is too small for ${layers} crop layer${layers === 1 ? '' : 's'}`;
    return `${tooSmall}: a layer-${crop.layer} crop is ${pixels}${empty ? '' : `, ${problem}`}`;
  }
  return undefined;
}

/**
 * The size of the reference's `image[y0:y1, x0:x1]`. Crop lengths are
 * rounded up, so on a side of a few pixels the later crops of a layer start
 * at or past its end: their box ends before it starts, and numpy's slice is
 * empty.
 */
export function cropSize(crop: CropBox): [number, number] {
  const [x0, y0, x1, y1] = crop.box;
  return [Math.max(0, x1 - x0), Math.max(0, y1 - y0)];
}
