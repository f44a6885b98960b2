import { createReadStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { decodeCountsString } from '../rle/coco-string.js';
import { rleArea, rleBoxXyxy } from '../rle/rle.js';
import { VERSION } from '../version.js';
import { BufferedFile } from './buffered-file.js';
import { findOutputFiles, readSa1bFile } from './read-outputs.js';
import { asStorageError, cleanUp } from './storage-fault.js';

export interface MergeSummary {
  images: number;
  annotations: number;
  failed: { path: string; reason: string }[];
}

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
 * Writes one COCO instances file from the per-image outputs under `outDir`:
 * images, annotations (RLE segmentation, bbox in COCO's convention (see
 * cocoBbox), area, iscrowd 0, category 1, and the score fields), one
 * class-agnostic category. Files are read one at a
 * time and annotations streamed to a side file, so memory does not grow with
 * the number of annotations. Annotation ids run from 1 over the whole set.
 * A write that fails on the storage is a StorageError naming `--coco FILE`,
 * and leaves no file behind.
 */
export async function mergeToCoco(outDir: string, cocoFile: string): Promise<MergeSummary> {
  // A previous merge written inside the folder is not an image's output.
  const target = path.resolve(cocoFile);
  const files = (await findOutputFiles(outDir)).filter((f) => path.resolve(f) !== target);
  const temp = `${cocoFile}.${hostname()}.${process.pid}.tmp`;
  const annotationsTemp = `${temp}.annotations`;
  const summary: MergeSummary = { images: 0, annotations: 0, failed: [] };
  const seenIds = new Map<number, string>();
  let main: BufferedFile | undefined;
  let side: BufferedFile | undefined;
  try {
    main = await BufferedFile.create(temp);
    side = await BufferedFile.create(annotationsTemp);
    await main.write(`{"info":${JSON.stringify({ description: 'sam-amg automatic masks', version: VERSION, date_created: new Date().toISOString() })},`
      + `"licenses":[],"categories":[${JSON.stringify(OBJECT_CATEGORY)}],"images":[`);
    for (const file of files) {
      let data;
      try {
        data = await readSa1bFile(file);
      } catch (err) {
        summary.failed.push({ path: file, reason: (err as Error).message.replace(`${file}: `, '') });
        continue;
      }
      if (!data) continue;
      const { image } = data;
      const clash = seenIds.get(image.image_id);
      if (clash) {
        summary.failed.push({ path: file, reason: `image_id ${image.image_id} is also the id of ${clash}` });
        continue;
      }
      seenIds.set(image.image_id, file);
      await main.write(`${summary.images ? ',' : ''}${JSON.stringify({
        id: image.image_id, width: image.width, height: image.height, file_name: image.file_name,
      })}`);
      summary.images++;
      for (const a of data.annotations) {
        summary.annotations++;
        await side.write(`${summary.annotations > 1 ? ',' : ''}${JSON.stringify({
          id: summary.annotations,
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
        })}`);
      }
    }
    await side.close();
    side = undefined;
    await main.write('],"annotations":[');
    for await (const chunk of createReadStream(annotationsTemp)) await main.write(chunk as Uint8Array);
    await main.write(']}\n');
    await main.close();
    main = undefined;
    await rename(temp, cocoFile);
  } catch (err) {
    await main?.abandon();
    await side?.abandon();
    await cleanUp(() => rm(temp, { force: true }));
    throw asStorageError(`--coco ${cocoFile}`, cocoFile, err);
  } finally {
    await cleanUp(() => rm(annotationsTemp, { force: true }));
  }
  return summary;
}
