import type { StageTimings } from '../amg/generator.js';

/** Seconds per stage of one image, as reported in `image_done`. */
export interface ImageTimings extends StageTimings {
  /** File read, resume check and image decode. */
  read: number;
  /** SHA-256 of the image file's bytes (what resume compares). */
  hash: number;
  /**
   * COCO RLE strings and the output records. The run-length counts
   * themselves are made during post-processing, straight from the logits.
   */
  rle: number;
  write: number;
}

/** What a dataset run reports as it goes; `--json` prints these one a line. */
export type RunEvent =
  | { event: 'start'; images: number; skipped_non_images: number; skipped_output_folders: string[]; shard: string | null; jobs: number; fingerprint: string; out: string }
  | { event: 'image_done'; path: string; output: string; masks: number; changed: boolean; seconds: number; timings: ImageTimings;
    /** Point prompts decoded for the image (the grid's size with grid sampling). */
    prompts: number }
  | { event: 'image_skipped'; path: string; output: string; reason: 'complete' }
  | { event: 'image_failed'; path: string; reason: string }
  | {
    event: 'summary'; images: number; written: number; changed: number; skipped: number; failed: number; masks: number;
    /** Point prompts decoded, over the images written. */
    prompts: number; seconds: number; interrupted: boolean;
    /** Set when the run stopped because writing into the output folder failed: the line the CLI prints. */
    storage_fault?: string;
  };
