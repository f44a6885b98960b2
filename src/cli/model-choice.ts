import { pullAnnounced as pull, type PullHooks } from '../model/model-choice.js';
import type { Registry } from '../model/registry.js';
import { downloadProgress } from './progress.js';

export { isCached } from '../model/model-choice.js';

/** A pull's announcements and progress on stderr, as the CLI prints them (nothing with --quiet). */
export function printedPull(quiet = false): Required<Pick<PullHooks, 'onNotice' | 'onDownload'>> {
  return {
    onNotice: (line) => {
      if (!quiet) process.stderr.write(`sam-amg: ${line}\n`);
    },
    onDownload: downloadProgress(quiet),
  };
}

/** Pulls a registry model, announcing it (size, source, licence) once its server answers, with progress on stderr. */
export function pullAnnounced(registry: Registry, name: string, cache: string, quiet = false): Promise<string> {
  return pull(registry, name, cache, printedPull(quiet));
}
