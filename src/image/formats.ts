import type { Metadata } from 'sharp';
import { heifItemTypes } from './heif-items.js';

/** The formats sam-amg reads, in the words of its messages. */
const READ_FORMATS = 'JPEG, PNG, WebP, TIFF, AVIF and GIF';

/** sharp's names of the formats decoded as they are; AVIF, which sharp names 'heif', is checked apart. */
const PLAIN_FORMATS: ReadonlySet<string> = new Set(['jpeg', 'png', 'webp', 'tiff', 'gif']);

/**
 * The HEIF item types an AVIF may hold besides its AV1-coded images: derived
 * images made of other items, and metadata that is never decoded as pixels.
 */
const AVIF_COMPANION_ITEMS: ReadonlySet<string> = new Set(['grid', 'iovl', 'iden', 'tmap', 'Exif', 'mime', 'uri ']);

/** HEVC's item types: a HEIF image coded with them is what cameras and phones write as HEIC. */
const HEVC_ITEMS: ReadonlySet<string> = new Set(['hvc1', 'hev1', 'hvt1', 'lhv1']);

/** How the formats sharp may report are named when refused; others by sharp's own name. */
const FORMAT_NAMES: ReadonlyMap<string, string> = new Map(Object.entries({
  svg: 'an SVG image',
  pdf: 'a PDF document',
  raw: 'raw pixel data',
  fits: 'a FITS image',
  magick: 'an image only ImageMagick reads',
  openslide: 'a whole-slide image (OpenSlide)',
  vips: 'a libvips image file',
  ppm: 'a PPM image',
  rad: 'a Radiance HDR image',
  exr: 'an OpenEXR image',
  jp2k: 'a JPEG 2000 image',
  jxl: 'a JPEG XL image',
  csv: 'a CSV file',
  matrix: 'a matrix file',
  mat: 'a MATLAB file',
}));

/**
 * Why a file of this header is not read, or undefined where its format is
 * one sam-amg reads: the refused format named as it is, then what is read.
 * HEIF is read only where every image it holds is AV1-coded (AVIF).
 */
export function formatRefusal(header: Metadata, bytes: Uint8Array): string | undefined {
  const format = header.format as string | undefined;
  if (format !== undefined && PLAIN_FORMATS.has(format)) return undefined;
  const what = format === 'heif' ? heifKind(bytes) : FORMAT_NAMES.get(format ?? '') ?? `an image in ${format ?? 'an unknown'} format`;
  return what && `${what}; sam-amg reads ${READ_FORMATS}`;
}

/** Undefined for an AVIF, else what the HEIF file is. */
function heifKind(bytes: Uint8Array): string | undefined {
  const items = heifItemTypes(bytes);
  if (!items) return 'a HEIF file whose items cannot be read';
  const coded = items.filter((t) => !AVIF_COMPANION_ITEMS.has(t));
  if (coded.length > 0 && coded.every((t) => t === 'av01')) return undefined;
  if (coded.some((t) => HEVC_ITEMS.has(t))) return 'a HEIC image';
  const other = coded.find((t) => t !== 'av01');
  return other ? `a HEIF image coded as '${other.trim()}'` : 'a HEIF file that holds no coded image';
}
