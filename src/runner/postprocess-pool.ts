import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { fromParts, type BatchFrame, type BatchProcessor, type MaskDataParts } from '../amg/batch-processor.js';
import type { Candidates } from '../amg/batch.js';
import type { MaskData } from '../amg/mask-data.js';
import { PACKAGE_ROOT } from '../package-root.js';
import type { AmgSettings } from '../settings/settings.js';
import type { BatchRequest } from './postprocess-worker.js';

/**
 * All cores but one where the machine has more than two. On two cores the
 * decoder's threads already use both, and a worker only moved the work
 * (measured: 0.97–1.07× the wall time of post-processing inline; see the
 * docs/performance.md). On 16 cores, 15 workers took post-processing from
 * 65 s to 22 s an image and the decoder from 17.7 s to 18.8 s
 * (docs/performance.md, on a GPU machine); between the two, not measured.
 */
export function defaultPostprocessWorkers(cores = availableParallelism()): number {
  return cores > 2 ? cores - 1 : 0;
}

/** The compiled worker (tests run the TypeScript sources, which a worker cannot load). */
const WORKER_FILE = path.join(PACKAGE_ROOT, 'dist/src/runner/postprocess-worker.js');

interface Pending {
  resolve: (d: MaskData) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  busy: number;
}

/**
 * Post-processing on worker threads, so the main thread can start the next
 * decoder call while earlier batches are upscaled, filtered and encoded.
 * Each batch goes to the least busy worker; its low-res logits are moved,
 * not copied.
 */
export class PostprocessPool implements BatchProcessor {
  private readonly slots: Slot[];
  private readonly pending = new Map<number, Pending & { slot: Slot }>();
  private nextId = 0;
  private failure: Error | undefined;

  constructor(workers: number) {
    this.slots = Array.from({ length: workers }, () => {
      const slot: Slot = { worker: new Worker(WORKER_FILE), busy: 0 };
      slot.worker.on('message', (msg: { id: number; parts?: MaskDataParts; error?: string }) => this.settle(msg));
      slot.worker.on('error', (err) => this.failAll(err));
      slot.worker.on('exit', (code) => {
        if (code !== 0) this.failAll(new Error(`post-processing worker exited with code ${code}`));
      });
      // Idle workers must not keep the process alive.
      slot.worker.unref();
      return slot;
    });
  }

  process(candidates: Candidates, frame: BatchFrame, settings: AmgSettings): Promise<MaskData> {
    if (this.failure) return Promise.reject(this.failure);
    const slot = this.slots.reduce((a, b) => (b.busy < a.busy ? b : a));
    const id = this.nextId++;
    // Moving the logits detaches their buffer, so a view into a larger one is copied out first.
    const lowRes = candidates.lowRes.byteLength === candidates.lowRes.buffer.byteLength ? candidates.lowRes : candidates.lowRes.slice();
    const request: BatchRequest = { id, candidates: { ...candidates, lowRes }, frame, settings };
    return new Promise<MaskData>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, slot });
      slot.busy++;
      slot.worker.ref();
      slot.worker.postMessage(request, [lowRes.buffer as ArrayBuffer]);
    });
  }

  private settle(msg: { id: number; parts?: MaskDataParts; error?: string }): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (--p.slot.busy === 0) p.slot.worker.unref();
    if (msg.parts) p.resolve(fromParts(msg.parts));
    else p.reject(new Error(`post-processing failed: ${msg.error}`));
  }

  private failAll(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
