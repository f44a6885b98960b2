import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A file's SHA-256 as recorded when it was written, with the size and modification time it had then. */
export interface DigestRecord {
  sha256: string;
  size: number;
  mtimeMs: number;
}

export async function digestRecord(file: string): Promise<DigestRecord> {
  const [sha256, info] = await Promise.all([sha256File(file), stat(file)]);
  return { sha256, size: info.size, mtimeMs: info.mtimeMs };
}

/**
 * The file's SHA-256: the recorded one while the file keeps the size and
 * modification time it had when recorded (a multi-GB model is not re-read on
 * every run), else hashed now.
 */
export async function recordedOrHashed(file: string, record: DigestRecord | undefined): Promise<string> {
  if (record) {
    const info = await stat(file);
    if (info.size === record.size && info.mtimeMs === record.mtimeMs) return record.sha256;
  }
  return sha256File(file);
}
