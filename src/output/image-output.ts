import { joinLocation } from '../storage/location.js';
import { storeFor } from '../storage/store.js';
import { PNG_INFO_FILE, writePngFolder } from './png-folder.js';
import type { OutputFormat } from './run-identity.js';
import type { Sa1bFile } from './sa1b.js';

export async function writeImageOutput(format: OutputFormat, target: string, file: Sa1bFile): Promise<void> {
  if (format === 'json') await storeFor(target).write(target, JSON.stringify(file));
  else await writePngFolder(target, file);
}

/** The SA-1B JSON inside an output of either format. */
export function sa1bFileOf(format: OutputFormat, target: string): string {
  return format === 'json' ? target : joinLocation(target, PNG_INFO_FILE);
}

export type OutputState = 'missing' | 'complete' | 'changed' | 'stale' | 'invalid';

/**
 * Whether an existing output is what this run would write: valid JSON, made
 * with the same fingerprint, from an image file with the same SHA-256
 * ('changed' when only the image differs: it was edited or replaced).
 */
export async function readOutputState(format: OutputFormat, target: string, fingerprint: string, imageSha256: string): Promise<OutputState> {
  const location = sa1bFileOf(format, target);
  const bytes = await storeFor(location).read(location).catch(() => undefined);
  if (bytes === undefined) return 'missing';
  const text = bytes.toString('utf8');
  let file: Sa1bFile;
  try {
    file = JSON.parse(text);
  } catch {
    return 'invalid';
  }
  if (!file?.image || !Array.isArray(file.annotations)) return 'invalid';
  if (file.info?.fingerprint !== fingerprint) return 'stale';
  return file.info.image_sha256 === imageSha256 ? 'complete' : 'changed';
}
