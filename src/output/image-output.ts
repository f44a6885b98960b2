import type { OptionNames } from '../errors.js';
import { joinLocation } from '../storage/location.js';
import { storeFor } from '../storage/store.js';
import { PNG_INFO_FILE, writePngFolder } from './png-folder.js';
import type { OutputFormat } from './run-identity.js';
import type { Sa1bFile } from './sa1b.js';

/** `names`: how a refusal names the output option (`out`, or the CLI's `--out`). */
export async function writeImageOutput(format: OutputFormat, target: string, file: Sa1bFile, names: OptionNames = 'keys'): Promise<void> {
  if (format === 'json') await storeFor(target).write(target, JSON.stringify(file));
  else await writePngFolder(target, file, names);
}

/** The SA-1B JSON inside an output of either format. */
export function sa1bFileOf(format: OutputFormat, target: string): string {
  return format === 'json' ? target : joinLocation(target, PNG_INFO_FILE);
}

/** `foreign`: something sam-amg did not write is where the output goes, and it is left alone. */
export type OutputState = 'missing' | 'complete' | 'changed' | 'stale' | 'foreign';

/**
 * Whether an existing output is what this run would write: an output of a
 * sam-amg run (an SA-1B file with its run's fingerprint), made with the same
 * fingerprint, from an image file with the same SHA-256 ('changed' when only
 * the image differs: it was edited or replaced).
 */
export async function readOutputState(format: OutputFormat, target: string, fingerprint: string, imageSha256: string): Promise<OutputState> {
  const location = sa1bFileOf(format, target);
  let bytes: Buffer | undefined;
  try {
    bytes = await storeFor(location).read(location);
  } catch (err) {
    // A folder where the JSON file goes; any other read error leaves the decision to the write.
    if ((err as NodeJS.ErrnoException).code === 'EISDIR') return 'foreign';
  }
  if (bytes === undefined) return 'missing';
  let file: Sa1bFile;
  try {
    file = JSON.parse(bytes.toString('utf8'));
  } catch {
    return 'foreign';
  }
  if (!file?.image || !Array.isArray(file.annotations) || typeof file.info?.fingerprint !== 'string') return 'foreign';
  if (file.info.fingerprint !== fingerprint) return 'stale';
  return file.info.image_sha256 === imageSha256 ? 'complete' : 'changed';
}
