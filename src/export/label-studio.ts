import { encodeBinary } from '@thi.ng/rle-pack';
import type { Sa1bAnnotation, Sa1bFile } from '../output/sa1b.js';
import { decodeCountsString } from '../rle/coco-string.js';
import { VERSION } from '../version.js';

/** The names the tasks' results and the labelling config share. */
export const LABEL_STUDIO_NAMES = { from: 'label', to: 'image', label: 'object' } as const;

/** A labelling config whose tags match the tasks' `from_name` and `to_name`. */
export const LABEL_STUDIO_CONFIG = `<View>
  <Image name="${LABEL_STUDIO_NAMES.to}" value="$image" zoom="true"/>
  <BrushLabels name="${LABEL_STUDIO_NAMES.from}" toName="${LABEL_STUDIO_NAMES.to}">
    <Label value="${LABEL_STUDIO_NAMES.label}"/>
  </BrushLabels>
</View>
`;

/**
 * The mask as Label Studio's brush stores it: the image's pixels row-major,
 * 255 inside and 0 outside, each repeated over the four RGBA channels
 * (Label Studio reads the fourth), packed by @thi.ng/rle-pack with 8-bit
 * words. `rgba` is a buffer of width × height × 4 bytes, reused between masks.
 */
export function brushRle(segmentation: { size: [number, number]; counts: string }, rgba: Uint8Array): Uint8Array {
  const [h, w] = segmentation.size;
  rgba.fill(0);
  const counts = decodeCountsString(segmentation.counts);
  // COCO runs go down the columns; a pixel (x, y) sits at 4 (y w + x) in the RGBA rows.
  for (let i = 1, pos = counts[0]; i < counts.length; i += 2) {
    for (let p = pos, end = pos + counts[i]; p < end; p++) {
      const x = Math.floor(p / h);
      rgba.fill(255, 4 * ((p - x * h) * w + x), 4 * ((p - x * h) * w + x) + 4);
    }
    pos += counts[i] + (counts[i + 1] ?? 0);
  }
  return encodeBinary(rgba, rgba.length, 8);
}

/** What tasks record as the model version: the tool, the model's files and the run's fingerprint. */
export function modelVersion(file: Sa1bFile): string {
  const info = file.info;
  if (!info) return `sam-amg ${VERSION}`;
  return `sam-amg ${info.version} encoder ${info.model.encoder.slice(0, 12)} decoder ${info.model.decoder.slice(0, 12)} fingerprint ${info.fingerprint.slice(0, 12)}`;
}

/** One task of Label Studio's JSON import: the image and one prediction holding every mask as a brush result. */
export function labelStudioTask(file: Sa1bFile, annotations: readonly Sa1bAnnotation[], imageRoot: string, rgba: Uint8Array): string {
  const { width, height, file_name } = file.image;
  const results = annotations.map((a) => JSON.stringify({
    id: `mask-${a.id}`,
    type: 'brushlabels',
    from_name: LABEL_STUDIO_NAMES.from,
    to_name: LABEL_STUDIO_NAMES.to,
    original_width: width,
    original_height: height,
    image_rotation: 0,
    score: a.predicted_iou,
    value: { format: 'rle', rle: Array.from(brushRle(a.segmentation, rgba)), brushlabels: [LABEL_STUDIO_NAMES.label] },
  }));
  const score = annotations.length ? annotations.reduce((s, a) => s + a.predicted_iou, 0) / annotations.length : 0;
  return `{"data":${JSON.stringify({ image: imageRoot + file_name })},"predictions":[{"model_version":${JSON.stringify(modelVersion(file))},`
    + `"score":${score},"result":[${results.join(',')}]}]}`;
}
