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

export type OutputState = 'missing' | 'complete' | 'stale' | 'invalid';

/**
 * Whether an existing output is what this run would write: valid JSON, made
 * with the same fingerprint, for an image of the same size.
 */
export async function readOutputState(
  format: OutputFormat,
  target: string,
  fingerprint: string,
  size: () => Promise<{ width: number; height: number } | undefined>,
): Promise<OutputState> {
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
  const actual = await size();
  if (!actual || actual.width !== file.image.width || actual.height !== file.image.height) return 'invalid';
  return 'complete';
}
