import sharp from 'sharp';
import { optionName, type OptionNames } from '../errors.js';
import { decodeCountsString } from '../rle/coco-string.js';
import { rleToRowMajor } from '../rle/rle.js';
import { storeFor, type StoreFile } from '../storage/store.js';
import { pythonFloatStr } from './python-str.js';
import type { Sa1bFile } from './sa1b.js';

/** The header of the reference `scripts/amg.py` metadata.csv, in its column order. */
export const METADATA_HEADER =
  'id,area,bbox_x0,bbox_y0,bbox_w,bbox_h,point_input_x,point_input_y,predicted_iou,stability_score,crop_box_x0,crop_box_y0,crop_box_w,crop_box_h';

/** Beside the reference files: the whole SA-1B record (RLEs, run identity), for resuming, merging and inspecting. */
export const PNG_INFO_FILE = '.sam-amg.json';

/** metadata.csv as the reference writes it: ints as ints, floats as Python prints them, no final newline. */
export function metadataCsv(file: Sa1bFile): string {
  const rows = [METADATA_HEADER];
  file.annotations.forEach((a, i) => {
    rows.push([
      String(i), String(a.area), ...a.bbox.map(String),
      ...a.point_coords[0].map(pythonFloatStr),
      pythonFloatStr(a.predicted_iou), pythonFloatStr(a.stability_score),
      ...a.crop_box.map(String),
    ].join(','));
  });
  return rows.join('\n');
}

/** The names sam-amg writes in a PNG folder, and nothing else. */
const PNG_FOLDER_NAME = /^(?:(?:0|[1-9]\d*)\.png|metadata\.csv|\.sam-amg\.json)$/;

/**
 * Refuses to replace a folder sam-amg did not write: one holding any other
 * name, a subfolder or a link (a user's folder named like an image's stem,
 * another image's output), or on a store where folders appear whole, one
 * without the record that marks it.
 */
async function checkReplaceable(dir: string, names: OptionNames): Promise<void> {
  const another = `choose another ${optionName('out', names)}`;
  const store = storeFor(dir);
  const entries = await store.tree(dir);
  if (!entries?.length) return;
  const foreign = entries.find((e) => e.kind !== 'file' || !PNG_FOLDER_NAME.test(e.name));
  if (foreign) {
    throw new Error(foreign.name === '' ? `${dir} exists and is not a folder sam-amg wrote; it is left alone (move it, or ${another})`
      : `${dir} holds ${foreign.name}, which sam-amg did not write; the folder is left alone (move it, or ${another})`);
  }
  // On S3 a write cut short leaves the masks without the record: that folder is still sam-amg's.
  if (store.foldersAppearWhole && !entries.some((e) => e.name === PNG_INFO_FILE)) {
    throw new Error(`${dir} is a folder sam-amg did not write; it is left alone (move it, or ${another})`);
  }
}

/**
 * The reference `scripts/amg.py` layout for one image: a folder with
 * `<i>.png` (0/255 grey, one per mask, i from 0) and `metadata.csv`, written
 * whole (see Store.writeFolder), the SA-1B record last. It replaces only a
 * folder sam-amg wrote.
 */
export async function writePngFolder(dir: string, file: Sa1bFile, names: OptionNames = 'keys'): Promise<void> {
  await checkReplaceable(dir, names);
  const { width, height } = file.image;
  const files: StoreFile[] = [];
  for (const [i, a] of file.annotations.entries()) {
    const mask = rleToRowMajor({ size: a.segmentation.size, counts: decodeCountsString(a.segmentation.counts) });
    for (let k = 0; k < mask.length; k++) mask[k] *= 255;
    // One-channel 8-bit grey, as cv2.imwrite writes a uint8 mask.
    // Encoded in memory and written by Node, so a full disk or an I/O error keeps its error code.
    files.push({ name: `${i}.png`, data: await sharp(mask, { raw: { width, height, channels: 1 } }).toColourspace('b-w').png().toBuffer() });
  }
  files.push({ name: 'metadata.csv', data: metadataCsv(file) });
  files.push({ name: PNG_INFO_FILE, data: JSON.stringify(file) });
  await storeFor(dir).writeFolder(dir, files);
}
