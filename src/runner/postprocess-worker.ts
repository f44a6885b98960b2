/** Worker-thread side of PostprocessPool: runs the pure batch processing and sends the result back. */
import { parentPort } from 'node:worker_threads';
import { InlineBatchProcessor, toParts, transferablesOf, type BatchFrame } from '../amg/batch-processor.js';
import type { Candidates } from '../amg/batch.js';
import type { AmgSettings } from '../settings/settings.js';

export interface BatchRequest {
  id: number;
  candidates: Candidates;
  frame: BatchFrame;
  settings: AmgSettings;
}

const processor = new InlineBatchProcessor();

parentPort!.on('message', (req: BatchRequest) => {
  try {
    const parts = toParts(processor.process(req.candidates, req.frame, req.settings));
    parentPort!.postMessage({ id: req.id, parts }, transferablesOf(parts));
  } catch (err) {
    parentPort!.postMessage({ id: req.id, error: String((err as Error)?.stack ?? err) });
  }
});
