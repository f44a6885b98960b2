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
  | {
    /**
     * Inputs counted, the model about to load: the run's first event.
     * `resuming`: `out` holds an earlier run (its manifest or a lock), which
     * the model's fingerprint is compared with once it has loaded, so the run
     * may still be refused then.
     */
    event: 'loading'; images: number; skipped_non_images: number; shard: string | null; model: string; out: string; resuming: boolean }
  | { event: 'start'; images: number; skipped_non_images: number; skipped_output_folders: string[]; shard: string | null; jobs: number; fingerprint: string; out: string }
  | { event: 'image_done'; path: string; output: string; masks: number; changed: boolean; seconds: number; timings: ImageTimings;
    /** Point prompts decoded for the image (the grid's size with grid sampling). */
    prompts: number }
  | {
    /**
     * An image being generated: as each crop's encoding starts, after each
     * decoder batch, and as the final post-processing starts. `crop` counts
     * from 1; `prompts_total` may shrink with hierarchical sampling.
     */
    event: 'image_progress'; path: string; stage: 'encode' | 'decode' | 'postprocess';
    prompts_done: number; prompts_total: number; crop: number; crops: number }
  | { event: 'image_skipped'; path: string; output: string; reason: 'complete' }
  | { event: 'image_failed'; path: string; reason: string }
  | {
    event: 'summary'; images: number; written: number; changed: number; skipped: number; failed: number; masks: number;
    /** Point prompts decoded, over the images written. */
    prompts: number; seconds: number; interrupted: boolean;
    /** Set when the run stopped because writing into the output folder failed: the line the CLI prints. */
    storage_fault?: string;
  };
