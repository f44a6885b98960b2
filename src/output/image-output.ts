import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from './atomic-write.js';
import { PNG_INFO_FILE, writePngFolder } from './png-folder.js';
import type { OutputFormat } from './run-identity.js';
import type { Sa1bFile } from './sa1b.js';

export async function writeImageOutput(format: OutputFormat, target: string, file: Sa1bFile): Promise<void> {
  if (format === 'json') await writeFileAtomic(target, JSON.stringify(file));
  else await writePngFolder(target, file);
}

/** The SA-1B JSON inside an output of either format. */
export function sa1bFileOf(format: OutputFormat, target: string): string {
  return format === 'json' ? target : path.join(target, PNG_INFO_FILE);
}

export type OutputState = 'missing' | 'complete' | 'changed' | 'stale' | 'invalid';

/**
 * Whether an existing output is what this run would write: valid JSON, made
 * with the same fingerprint, from an image file with the same SHA-256
 * ('changed' when only the image differs: it was edited or replaced).
 */
export async function readOutputState(format: OutputFormat, target: string, fingerprint: string, imageSha256: string): Promise<OutputState> {
  let text: string;
  try {
    text = await readFile(sa1bFileOf(format, target), 'utf8');
  } catch {
    return 'missing';
  }
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
