/**
 * The largest image sam-amg decodes, in pixels: sharp's own default limit
 * (0x3FFF × 0x3FFF, 268 megapixels, 805 MB of RGB), checked from the file's
 * header before any pixel is decoded, whatever the format. The same bound
 * holds the size an output file may claim for its image.
 */
export const MAX_IMAGE_PIXELS = 0x3fff * 0x3fff;

/** Why an image of this size is not decoded, or undefined where it is within the limit. */
export function pixelLimitRefusal(width: number, height: number): string | undefined {
  if (width * height <= MAX_IMAGE_PIXELS) return undefined;
  return `image of ${width}×${height} pixels is larger than the ${Math.floor(MAX_IMAGE_PIXELS / 1e6)}-megapixel limit`;
}
