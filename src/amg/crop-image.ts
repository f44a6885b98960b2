import type { RgbImage } from '../image/rgb-image.js';

/** Copies the XYXY rectangle out of an image (the reference's `image[y0:y1, x0:x1]`). */
export function cropImage(image: RgbImage, box: ArrayLike<number>): RgbImage {
  const [x0, y0, x1, y1] = [box[0], box[1], box[2], box[3]];
  if (x0 === 0 && y0 === 0 && x1 === image.width && y1 === image.height) return image;
  const width = x1 - x0;
  const height = y1 - y0;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const from = ((y0 + y) * image.width + x0) * 3;
    data.set(image.data.subarray(from, from + width * 3), y * width * 3);
  }
  return { width, height, data };
}
