import { BitOutputStream } from '@thi.ng/bitstream';
import { encodeBinary } from '@thi.ng/rle-pack';
import type { Sa1bAnnotation, Sa1bFile } from '../output/sa1b.js';
import { decodeCountsString } from '../rle/coco-string.js';
import { rleToRowMajor } from '../rle/rle.js';
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

/** rle-pack's run-length groups: 3, 4, 8 and 16 bits of (count - 1). */
const RLE_SIZES = [3, 4, 8, 16] as const;
const LONGEST_RUN = 1 << RLE_SIZES[3];

/**
 * The mask as Label Studio's brush stores it: the image's pixels row-major,
 * 255 inside and 0 outside, each repeated over the four RGBA channels
 * (Label Studio reads the fourth), packed by @thi.ng/rle-pack's
 * `encodeBinary` with 8-bit words. `rgba` is a buffer of width × height × 4
 * bytes, reused between masks. The reference for brushRle below.
 */
export function brushRleReference(segmentation: { size: [number, number]; counts: string }, rgba: Uint8Array): Uint8Array {
  const mask = rleToRowMajor({ size: segmentation.size, counts: decodeCountsString(segmentation.counts) });
  for (let p = 0; p < mask.length; p++) rgba.fill(mask[p] * 255, 4 * p, 4 * p + 4);
  return encodeBinary(rgba, rgba.length, 8);
}

/**
 * The same bytes as brushRleReference, written run by run instead of value
 * by value (rle-pack reads every one of the 4 × width × height bytes; this
 * reads the mask's row-major runs). It follows `encodeBinary` step for step
 * on this input: every run of equal bytes is at least 4 long (a pixel's four
 * channels), so rle-pack never emits a literal chunk, writes each run as
 * repeat groups of at most 2^16, and its last run is always flushed at the
 * end. The bits go through @thi.ng/bitstream, rle-pack's own writer.
 */
export function brushRle(segmentation: { size: [number, number]; counts: string }): Uint8Array {
  const [h, w] = segmentation.size;
  const mask = rleToRowMajor({ size: segmentation.size, counts: decodeCountsString(segmentation.counts) });
  const out = new BitOutputStream(1024);
  out.write(4 * w * h, 32).write(8 - 1, 5);
  for (const size of RLE_SIZES) out.write(size - 1, 4);
  // `repeats` is rle-pack's n: the pending run of `value` is repeats + 1 long.
  const group = (repeats: number, value: number) => {
    const t = repeats < 1 << RLE_SIZES[0] ? 0 : repeats < 1 << RLE_SIZES[1] ? 1 : repeats < 1 << RLE_SIZES[2] ? 2 : 3;
    out.writeBit(1);
    out.write(t, 2);
    out.write(repeats, RLE_SIZES[t]);
    out.write(value, 8);
  };
  let repeats = 0;
  for (let start = 0; start < mask.length;) {
    const bit = mask[start];
    let end = start + 1;
    while (end < mask.length && mask[end] === bit) end++;
    // A new value: the previous run, if any, is written (its repeats are above 0: it was at least 4 long).
    if (start > 0) group(repeats, bit ? 0 : 255);
    repeats = 0;
    // The run's other bytes, in groups of at most LONGEST_RUN.
    let more = 4 * (end - start) - 1;
    while (more >= LONGEST_RUN - repeats) {
      more -= LONGEST_RUN - repeats;
      group(LONGEST_RUN - 1, bit ? 255 : 0);
      repeats = 0;
    }
    repeats += more;
    start = end;
  }
  group(repeats, mask[mask.length - 1] ? 255 : 0);
  return out.bytes();
}

/** brushRleReference with a buffer of its own per image size: what `brushEncoder: 'rle-pack'` runs. */
export function referenceBrushEncoder(): (segmentation: Sa1bAnnotation['segmentation']) => Uint8Array {
  let rgba = new Uint8Array(0);
  return (segmentation) => {
    const size = segmentation.size[0] * segmentation.size[1] * 4;
    if (rgba.length !== size) rgba = new Uint8Array(size);
    return brushRleReference(segmentation, rgba);
  };
}

/** What tasks record as the model version: the tool, the model's files and the run's fingerprint. */
export function modelVersion(file: Sa1bFile): string {
  const info = file.info;
  if (!info) return `sam-amg ${VERSION}`;
  return `sam-amg ${info.version} encoder ${info.model.encoder.slice(0, 12)} decoder ${info.model.decoder.slice(0, 12)} fingerprint ${info.fingerprint.slice(0, 12)}`;
}

/** Bytes `urllib.parse.quote` leaves as they are: ASCII letters and digits, `_.-~`, and its default safe `/`. */
const UNRESERVED = /^[A-Za-z0-9_.\-~/]$/;

/**
 * A file_name as Python's `urllib.parse.quote(name)` writes it: each UTF-8
 * byte but letters, digits, `_.-~` and `/` as %XX. Label Studio's local
 * files URL, `/data/local-files/?d=<path>`, is read as a query string (Django
 * turns `+` into a space and decodes %XX, label-studio-converter `unquote`s
 * it), its own Local Files sync writes `quote(path)` there, and unescaped a
 * `#` would end the URL and `&` or `?` cut the path short.
 */
export function quotePath(name: string): string {
  let out = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += byte < 0x80 && UNRESERVED.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * `data.image`: the prefix, then the file_name escaped as a URL path
 * (quotePath), except after a cloud storage URI (`s3://`, `gs://`,
 * `azure-blob://`…, any scheme but http and https): Label Studio takes the
 * object key from such a URI as it is written, without unescaping it.
 */
export function imageLocation(imageRoot: string, fileName: string): string {
  const scheme = imageRoot.match(/^([A-Za-z][A-Za-z0-9+.-]*):\/\//)?.[1].toLowerCase();
  return imageRoot + (scheme && scheme !== 'http' && scheme !== 'https' ? fileName : quotePath(fileName));
}

/**
 * What the user should know about the tasks' `data.image`, a line each:
 * without `--image-root` it is a bare file_name, which Label Studio cannot
 * open; a prefix that ends in neither `/` nor `=` runs into the name.
 * `fileName` is one of the tasks' names, shown as the example.
 */
export function labelStudioNotes(imageRoot: string | undefined, fileName: string): string[] {
  if (!imageRoot) {
    return [`--image-root not given: each task's data.image is a bare file_name (${JSON.stringify(quotePath(fileName))}), which Label Studio cannot open; `
      + 'for its local files pass --image-root \'/data/local-files/?d=IMAGES/\', IMAGES the folder the images were read from, relative to LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT'];
  }
  if (!/[/=]$/.test(imageRoot)) {
    return [`--image-root ${imageRoot} ends in neither / nor =, so the names run into it: data.image is ${JSON.stringify(imageLocation(imageRoot, fileName))}`];
  }
  return [];
}

/** One task of Label Studio's JSON import: the image and one prediction holding every mask as a brush result. */
export function labelStudioTask(file: Sa1bFile, annotations: readonly Sa1bAnnotation[], imageRoot: string,
  encode: (segmentation: Sa1bAnnotation['segmentation']) => Uint8Array = brushRle): string {
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
    value: { format: 'rle', rle: Array.from(encode(a.segmentation)), brushlabels: [LABEL_STUDIO_NAMES.label] },
  }));
  const score = annotations.length ? annotations.reduce((s, a) => s + a.predicted_iou, 0) / annotations.length : 0;
  return `{"data":${JSON.stringify({ image: imageLocation(imageRoot, file_name) })},"predictions":[{"model_version":${JSON.stringify(modelVersion(file))},`
    + `"score":${score},"result":[${results.join(',')}]}]}`;
}
