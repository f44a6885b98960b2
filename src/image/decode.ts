import sharp from 'sharp';
import type { RgbImage } from './rgb-image.js';

/** An input that could not be read as an image; the message names the cause. */
export class ImageDecodeError extends Error {
  override name = 'ImageDecodeError';
}

/**
 * Decodes any format sharp reads (JPEG, PNG, WebP, TIFF, AVIF, GIF first
 * frame, ...) to 8-bit RGB: EXIF orientation applied, alpha dropped (as
 * OpenCV's colour read does), grey and CMYK converted to sRGB, 16-bit
 * samples reduced to their high byte.
 */
export async function decodeImage(input: string | Uint8Array): Promise<RgbImage> {
  if (typeof input !== 'string' && input.length === 0) throw new ImageDecodeError('empty file');
  try {
    const { data, info } = await sharp(input, { failOn: 'warning' })
      .rotate()
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new ImageDecodeError(`decoded to ${info.channels} channels, expected 3`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (err) {
    if (err instanceof ImageDecodeError) throw err;
    throw new ImageDecodeError(cleanSharpMessage((err as Error).message));
  }
}

function cleanSharpMessage(message: string): string {
  const firstLine = message.split('\n')[0].trim();
  if (/unsupported image format/i.test(firstLine)) return 'not an image in a supported format';
  return firstLine.replace(/^Input (file|buffer) (has|contains) /i, '').replace(/Vips\w+: /g, '');
}
