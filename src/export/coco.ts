import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { BufferedFile } from '../storage/buffered-file.js';
import type { Sa1bAnnotation, Sa1bFile } from '../output/sa1b.js';
import { cleanUp } from '../storage/storage-fault.js';
import { decodeCountsString } from '../rle/coco-string.js';
import { rleArea, rleBoxXyxy } from '../rle/rle.js';
import { VERSION } from '../version.js';
import { COCO_DESCRIPTION } from '../output/sa1b-schema.js';

/**
 * A mask's box as COCO tooling reads it (pycocotools' `toBbox`,
 * `COCOeval` with iouType "bbox", detectron2, mmdetection): its pixel extent,
 * [x, y, width, height] with width = last column - first column + 1, and
 * [0, 0, 0, 0] when empty. SAM's own box (kept in the SA-1B files) is the
 * inclusive box's difference, one pixel narrower and shorter.
 */
export function cocoBbox(segmentation: { size: [number, number]; counts: string }): [number, number, number, number] {
  const rle = { size: segmentation.size, counts: decodeCountsString(segmentation.counts) };
  if (rleArea(rle) === 0) return [0, 0, 0, 0];
  const [x0, y0, x1, y1] = rleBoxXyxy(rle);
  return [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
}

/** The one category of class-agnostic masks. */
export const OBJECT_CATEGORY = { id: 1, name: 'object', supercategory: 'object' };

/**
 * One COCO instances file, written as the images come: images (id, size,
 * file_name), annotations (RLE segmentation, bbox in COCO's convention (see
 * cocoBbox), area, iscrowd 0, category 1, and the score fields), one
 * class-agnostic category. Annotations go to a side file and are copied in
 * at the end, so memory does not grow with their number. Annotation ids run
 * from 1 over the whole set.
 */
export class CocoWriter {
  private images = 0;
  private annotations = 0;
  private readonly seenIds = new Map<number, string>();

  private constructor(private readonly sideFile: string, private main: BufferedFile | undefined, private side: BufferedFile | undefined) {}

  /** Writes `file`, with the annotations in `sideFile` until the end. */
  static async create(file: string, sideFile: string): Promise<CocoWriter> {
    const main = await BufferedFile.create(file);
    const side = await BufferedFile.create(sideFile).catch(async (err) => {
      await main.abandon();
      throw err;
    });
    const writer = new CocoWriter(sideFile, main, side);
    await main.write(`{"info":${JSON.stringify({ description: COCO_DESCRIPTION, version: VERSION, date_created: new Date().toISOString() })},`
      + `"licenses":[],"categories":[${JSON.stringify(OBJECT_CATEGORY)}],"images":[`);
    return writer;
  }

  /**
   * Adds an image and its annotations; an image whose id another already has
   * is refused (an Error naming both). Everything is made before anything is
   * written, so a refused image leaves both files and the counts as they were.
   */
  async add(data: Sa1bFile, annotations: readonly Sa1bAnnotation[], source: string): Promise<void> {
    const { image } = data;
    const clash = this.seenIds.get(image.image_id);
    if (clash) throw new Error(`image_id ${image.image_id} is also the id of ${clash}`);
    const imageEntry = `${this.images ? ',' : ''}${JSON.stringify({
      id: image.image_id, width: image.width, height: image.height, file_name: image.file_name,
    })}`;
    const entries = annotations.map((a, k) => JSON.stringify({
      id: this.annotations + k + 1,
      image_id: image.image_id,
      category_id: OBJECT_CATEGORY.id,
      segmentation: a.segmentation,
      area: a.area,
      bbox: cocoBbox(a.segmentation),
      iscrowd: 0,
      predicted_iou: a.predicted_iou,
      stability_score: a.stability_score,
      point_coords: a.point_coords,
      crop_box: a.crop_box,
    }));
    this.seenIds.set(image.image_id, source);
    this.images++;
    await this.main!.write(imageEntry);
    for (const entry of entries) await this.side!.write(`${this.annotations++ ? ',' : ''}${entry}`);
  }

  /** Copies the annotations in and closes the file. */
  async finish(): Promise<void> {
    await this.side!.close();
    this.side = undefined;
    await this.main!.write('],"annotations":[');
    for await (const chunk of createReadStream(this.sideFile)) await this.main!.write(chunk as Uint8Array);
    await this.main!.write(']}\n');
    await this.main!.close();
    this.main = undefined;
    await rm(this.sideFile, { force: true });
  }

  /** After a failure: closes both files and removes the side file (the caller removes the main one). */
  async abandon(): Promise<void> {
    await this.main?.abandon();
    await this.side?.abandon();
    await cleanUp(() => rm(this.sideFile, { force: true }));
  }
}
