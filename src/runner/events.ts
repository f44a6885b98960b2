import type { StageTimings } from '../amg/generator.js';

/** Seconds per stage of one image, as reported in `image_done`. */
export interface ImageTimings extends StageTimings {
  /** Resume check, file read and image decode. */
  read: number;
  /**
   * COCO RLE strings and the output records. The run-length counts
   * themselves are made during post-processing, straight from the logits.
   */
  rle: number;
  write: number;
}

/** What a dataset run reports as it goes; `--json` prints these one a line. */
export type RunEvent =
  | { event: 'start'; images: number; skipped_non_images: number; shard: string | null; jobs: number; fingerprint: string; out: string }
  | { event: 'image_done'; path: string; output: string; masks: number; seconds: number; timings: ImageTimings }
  | { event: 'image_skipped'; path: string; output: string; reason: 'complete' }
  | { event: 'image_failed'; path: string; reason: string }
  | { event: 'summary'; images: number; written: number; skipped: number; failed: number; masks: number; seconds: number; interrupted: boolean };
