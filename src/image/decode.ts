import { readFile } from 'node:fs/promises';
import sharp, { type Metadata } from 'sharp';
import { formatRefusal } from './formats.js';
import { MAX_IMAGE_PIXELS, pixelLimitRefusal } from './limits.js';
import type { RgbImage } from './rgb-image.js';

/** An input that could not be read as an image; the message names the cause. */
export class ImageDecodeError extends Error {
  override name = 'ImageDecodeError';
}

/**
 * Decodes JPEG, PNG, WebP, TIFF (first page), AVIF and GIF (first frame) to
 * 8-bit RGB: EXIF orientation applied, alpha dropped (as OpenCV's colour
 * read does), grey and CMYK converted to sRGB, 16-bit samples reduced to
 * their high byte. The header is read first: any other format (SVG, PDF,
 * HEIC, ...) and any image over MAX_IMAGE_PIXELS is refused before a pixel
 * is decoded.
 */
export async function decodeImage(input: string | Uint8Array): Promise<RgbImage> {
  // A path is read once, so the bytes decoded are the bytes whose header was checked.
  const bytes = typeof input === 'string' ? await readImageFile(input) : input;
  if (bytes.length === 0) throw new ImageDecodeError('empty file');
  try {
    // Without sharp's limit, which would refuse a large header in its own words first: reading a header decodes no pixel.
    const refusal = headerRefusal(await sharp(bytes, { limitInputPixels: false }).metadata(), bytes);
    if (refusal) throw new ImageDecodeError(refusal);
    // The limit handed to sharp too: it holds whatever a loader finds past the header.
    const { data, info } = await sharp(bytes, { failOn: 'warning', limitInputPixels: MAX_IMAGE_PIXELS })
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

/** The format's refusal, else the size's: the size as viewed (EXIF orientation applied) of the first page, the one decoded. */
function headerRefusal(header: Metadata, bytes: Uint8Array): string | undefined {
  const { width, height } = header.autoOrient ?? header;
  return formatRefusal(header, bytes) ?? (width !== undefined && height !== undefined ? pixelLimitRefusal(width, height) : undefined);
}

async function readImageFile(file: string): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ImageDecodeError(code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a folder, not an image' : (err as Error).message);
  }
}

/**
 * sharp's message in one line: its first, and where that ends in a colon,
 * the cause from the next (libheif puts it after lines of libvips's seeks).
 */
function cleanSharpMessage(message: string): string {
  const lines = message.replace(/source: bad seek to \d+/g, '').split('\n').map((l) => l.trim()).filter(Boolean);
  let line = lines[0] ?? message.trim();
  if (line.endsWith(':') && lines[1]) line = `${line} ${lines[1]}`;
  if (/unsupported image format/i.test(line)) return 'not an image in a supported format';
  return line.replace(/^Input (file|buffer) (has|contains) /i, '').replace(/Vips\w+: /g, '');
}
