import { MAX_IMAGE_PIXELS } from '../image/limits.js';
import { isPlainRelativeName, MAX_NAME_LENGTH } from './layout.js';
import type { OutputFormat, RunIdentity } from './run-identity.js';
import type { OutputInfo, Sa1bFile } from './sa1b.js';

/**
 * What every command that reads outputs back (merge, export, report,
 * status, inspect) holds a per-image file to before using any of it: the
 * file is data from wherever the folder came from, and a field of the wrong
 * type, a name that climbs out of a destination or an RLE that claims
 * billions of pixels must be named and skipped, not followed. Errors are
 * one line, `<field>: <cause>`, naming the first bad field in file order.
 */

/**
 * Most annotations one image may have. SA-1B averages about 100 an image;
 * the densest settings (1024 points a side) prompt about a million points a
 * crop, and NMS keeps far fewer masks than prompts. A million annotations
 * take at least 150 MB of JSON, most of MAX_SA1B_FILE_BYTES.
 */
export const MAX_ANNOTATIONS = 1_000_000;

/**
 * Largest per-image file read, in bytes: 256 MiB, half the longest string
 * Node makes (the text must become one string to be parsed). A 1500×1000
 * image with 100 masks writes about 200 KB; the largest image (268 MP)
 * with a thousand masks of smooth outline (a few runs a column) about
 * 100 MB. Larger is a damaged or hostile file, refused before it fills
 * memory.
 */
export const MAX_SA1B_FILE_BYTES = 256 * 2 ** 20;

/**
 * Characters a COCO RLE string may spend on one run: 7 groups of 5 bits
 * hold any run up to 2^34, exactly, as a double. A run of an image the size
 * of MAX_IMAGE_PIXELS needs at most 6; a longer one is refused before its
 * value can lose precision.
 */
const MAX_RUN_CHARACTERS = 7;

/**
 * Characters a counts string may hold for an image of `pixels` pixels: a
 * mask has at most pixels + 1 runs, each written in at most 6 characters
 * (every run and every difference of runs is below 2^29).
 */
export function maxCountsLength(pixels: number): number {
  return 6 * (pixels + 1);
}

/** The description of every COCO file sam-amg writes; readers know a merge kept in an output folder by it. */
export const COCO_DESCRIPTION = 'sam-amg automatic masks';
/** How every COCO file sam-amg writes begins: what readers skip and an export may replace. */
export const COCO_FILE_START = `{"info":{"description":${JSON.stringify(COCO_DESCRIPTION)}`;

type Fields = Record<string, unknown>;

/** A value as a message shows it: short, and on one line whatever it holds. */
function shown(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) {
    const text = value.length <= 8 ? JSON.stringify(value) : '';
    return text && text.length <= 60 ? text : `an array of ${value.length} items`;
  }
  switch (typeof value) {
    case 'string': return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
    case 'number':
    case 'boolean': return String(value);
    case 'object': return 'an object';
    default: return typeof value;
  }
}

/** Throws the one-line cause; `at` is '' for the value itself. */
function refuse(at: string, expected: string, value: unknown): never {
  const where = at ? `${at}: ` : '';
  throw new Error(value === undefined ? `${where}missing` : `${where}expected ${expected}, got ${shown(value)}`);
}

const field = (at: string, key: string) => (at ? `${at}.${key}` : key);

function objectAt(value: unknown, at: string): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) refuse(at, 'an object', value);
  return value as Fields;
}

function stringAt(value: unknown, at: string): string {
  if (typeof value !== 'string') refuse(at, 'a string', value);
  return value;
}

function integerAt(value: unknown, at: string, min: 0 | 1): number {
  if (!Number.isSafeInteger(value) || (value as number) < min) refuse(at, min ? 'a positive integer' : 'a non-negative integer', value);
  return value as number;
}

/** A score: JSON has no NaN, and the stability score of an empty mask (0 / 0) is written as null. */
function scoreAt(value: unknown, at: string): number | null {
  if (value === null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value)) refuse(at, 'a finite number or null', value);
  return value;
}

function finiteNumbersAt(value: unknown, at: string, count: number): number[] {
  const what = `${count} finite numbers`;
  if (!Array.isArray(value) || value.length !== count) refuse(at, what, value);
  for (const v of value) if (typeof v !== 'number' || !Number.isFinite(v)) refuse(at, what, value);
  return value;
}

function invalidCharacter(counts: string, at: number): Error {
  return new Error(`invalid character ${JSON.stringify(counts[at])} at ${at}`);
}

/**
 * The foreground pixels (sum of the odd runs) of a COCO compressed RLE
 * string for an image of height×width, checked in one pass over the string
 * with nothing allocated: characters in COCO's alphabet, no run cut off,
 * negative, longer than MAX_RUN_CHARACTERS or than the image, and runs that
 * sum to exactly height×width. Throws an Error with the cause. Decodes as
 * decodeCountsString (pycocotools' rleFrString) does.
 */
export function countsStringArea(counts: string, height: number, width: number): number {
  const pixels = height * width;
  const image = () => `${height}×${width} = ${pixels}`;
  const end = counts.length;
  // counts[k - 2] and counts[k - 1]: runs from the fourth on are differences to the run two before.
  let twoBefore = 0;
  let oneBefore = 0;
  let run = 0;
  let sum = 0;
  let area = 0;
  let p = 0;
  while (p < end) {
    const start = p;
    // Groups of 5 bits, least significant first; 0x20 says another follows.
    let c = counts.charCodeAt(p++) - 48;
    if (c >>> 0 > 63) throw invalidCharacter(counts, p - 1);
    let value = c & 0x1f;
    let scale = 32;
    while (c & 0x20) {
      if (p === end) throw new Error(`ends inside run ${run} (from character ${start})`);
      if (p - start === MAX_RUN_CHARACTERS) throw new Error(`run ${run} at character ${start} overflows (more than ${MAX_RUN_CHARACTERS} characters)`);
      c = counts.charCodeAt(p++) - 48;
      if (c >>> 0 > 63) throw invalidCharacter(counts, p - 1);
      value += (c & 0x1f) * scale;
      scale *= 32;
    }
    // The last group's top bit is the sign of the whole number.
    if (c & 0x10) value -= scale;
    if (run > 2) value += twoBefore;
    if (value < 0) throw new Error(`run ${run} at character ${start} is negative (${value})`);
    if (value > pixels) throw new Error(`run ${run} at character ${start} is ${value} pixels, more than ${image()}`);
    sum += value;
    if (run & 1) area += value;
    twoBefore = oneBefore;
    oneBefore = value;
    run++;
  }
  // Runs are never negative: a sum once past `pixels` cannot come back to it, however imprecise past 2^53.
  if (sum !== pixels) throw new Error(`runs sum to ${sum} pixels, not ${image()}`);
  return area;
}

function checkImage(value: unknown): { height: number; width: number } {
  const image = objectAt(value, 'image');
  integerAt(image.image_id, 'image.image_id', 0);
  const width = integerAt(image.width, 'image.width', 1);
  const height = integerAt(image.height, 'image.height', 1);
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new Error(`image: ${width}×${height} = ${width * height} pixels, more than the ${MAX_IMAGE_PIXELS} an image may have`);
  }
  const name = stringAt(image.file_name, 'image.file_name');
  if (name.length > MAX_NAME_LENGTH) throw new Error(`image.file_name: ${name.length} characters, more than ${MAX_NAME_LENGTH}`);
  if (!isPlainRelativeName(name)) throw new Error(`image.file_name: ${shown(name)} is not a relative path of plain segments`);
  return { height, width };
}

function checkAnnotation(value: unknown, at: string, height: number, width: number): void {
  const a = objectAt(value, at);
  integerAt(a.id, `${at}.id`, 1);
  const segmentation = objectAt(a.segmentation, `${at}.segmentation`);
  const size = segmentation.size;
  if (!Array.isArray(size) || size.length !== 2 || size[0] !== height || size[1] !== width) {
    refuse(`${at}.segmentation.size`, `[${height}, ${width}], the image's height and width`, size);
  }
  const counts = stringAt(segmentation.counts, `${at}.segmentation.counts`);
  const longest = maxCountsLength(height * width);
  if (counts.length > longest) {
    throw new Error(`${at}.segmentation.counts: ${counts.length} characters, more than the ${longest} a ${height}×${width} mask can need`);
  }
  let pixels: number;
  try {
    pixels = countsStringArea(counts, height, width);
  } catch (err) {
    throw new Error(`${at}.segmentation.counts: ${(err as Error).message}`);
  }
  const area = integerAt(a.area, `${at}.area`, 0);
  if (area !== pixels) throw new Error(`${at}.area: ${area}, but its mask has ${pixels} pixels`);
  finiteNumbersAt(a.bbox, `${at}.bbox`, 4);
  scoreAt(a.predicted_iou, `${at}.predicted_iou`);
  scoreAt(a.stability_score, `${at}.stability_score`);
  const points = a.point_coords;
  if (!Array.isArray(points) || points.length === 0) refuse(`${at}.point_coords`, 'a non-empty array of [x, y] pairs', points);
  for (let k = 0; k < points.length; k++) finiteNumbersAt(points[k], `${at}.point_coords[${k}]`, 2);
  finiteNumbersAt(a.crop_box, `${at}.crop_box`, 4);
}

const OUTPUT_FORMATS: readonly OutputFormat[] = ['json', 'png'];

/**
 * A run's identity as the run manifest and each output's `info` record it;
 * `at` is where it sits ('' for the manifest itself). Throws as above.
 */
export function checkRunIdentity(value: unknown, at = ''): RunIdentity {
  const identity = objectAt(value, at);
  stringAt(identity.tool, field(at, 'tool'));
  stringAt(identity.version, field(at, 'version'));
  stringAt(identity.fingerprint, field(at, 'fingerprint'));
  if (!OUTPUT_FORMATS.includes(identity.format as OutputFormat)) refuse(field(at, 'format'), '"json" or "png"', identity.format);
  const model = objectAt(identity.model, field(at, 'model'));
  stringAt(model.encoder, field(at, 'model.encoder'));
  stringAt(model.decoder, field(at, 'model.decoder'));
  if (model.config !== null && typeof model.config !== 'string') refuse(field(at, 'model.config'), 'a string or null', model.config);
  const settings = objectAt(identity.settings, field(at, 'settings'));
  for (const [key, v] of Object.entries(settings)) {
    if (typeof v !== 'string' && !(typeof v === 'number' && Number.isFinite(v))) refuse(field(at, `settings.${key}`), 'a number or a string', v);
  }
  return identity as unknown as RunIdentity;
}

function checkInfo(value: unknown): OutputInfo {
  const info = checkRunIdentity(value, 'info') as Partial<OutputInfo>;
  stringAt(info.image_sha256, 'info.image_sha256');
  return info as OutputInfo;
}

/**
 * `value` (parsed JSON) as a per-image SA-1B file, every field a reader
 * uses checked: the image's id, size (at most MAX_IMAGE_PIXELS) and
 * file_name (a plain relative path); at most MAX_ANNOTATIONS annotations,
 * each with a positive id, an RLE of the image's size that decodes to runs
 * summing to its pixels, an area equal to its foreground, finite scores
 * (or null), boxes and points; the run's identity when there is one.
 * Throws an Error naming the first bad field and why.
 */
export function checkSa1bFile(value: unknown): Sa1bFile {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`not an SA-1B per-image file (expected an object, got ${shown(value)})`);
  }
  const file = value as Fields;
  if (file.image === undefined && file.annotations === undefined) {
    throw new Error('not an SA-1B per-image file (no image record or annotations)');
  }
  const { height, width } = checkImage(file.image);
  const annotations = file.annotations;
  if (!Array.isArray(annotations)) refuse('annotations', 'an array', annotations);
  if (annotations.length > MAX_ANNOTATIONS) throw new Error(`annotations: ${annotations.length} annotations, more than ${MAX_ANNOTATIONS}`);
  for (let i = 0; i < annotations.length; i++) checkAnnotation(annotations[i], `annotations[${i}]`, height, width);
  if (file.info !== undefined) checkInfo(file.info);
  return value as Sa1bFile;
}
