import { open, rm, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { ModelError } from './model-error.js';

export type ProgressFn = (received: number, total: number | null) => void;

function networkCause(err: unknown): string {
  const e = err as { cause?: { code?: string; message?: string }; message?: string };
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}

/**
 * Downloads `url` into `partFile`, continuing a previous partial download
 * with an HTTP Range request. On any failure the part file keeps what
 * arrived, so the next call resumes; the caller verifies the checksum.
 */
export async function downloadResumable(
  url: string,
  partFile: string,
  expectedSize: number | null,
  /** Called once the server has answered (so nothing is announced when it cannot be reached). */
  onStart?: () => ProgressFn | undefined,
): Promise<void> {
  let have = await stat(partFile).then((s) => s.size, () => 0);
  if (expectedSize !== null && have > expectedSize) {
    await rm(partFile, { force: true });
    have = 0;
  }
  if (expectedSize !== null && have === expectedSize) return;
  let res: Response;
  try {
    res = await fetch(url, { headers: have > 0 ? { Range: `bytes=${have}-` } : {}, redirect: 'follow' });
  } catch (err) {
    throw new ModelError(`cannot reach ${url} (${networkCause(err)})`);
  }
  if (res.status === 416 && have > 0) return; // the part already holds the whole file
  if (!res.ok) throw new ModelError(`${url}: HTTP ${res.status} ${res.statusText}`.trim());
  const onProgress = onStart?.();
  const append = res.status === 206 && have > 0;
  if (!append) have = 0; // the server sent the whole file
  const length = Number(res.headers.get('content-length'));
  const total = Number.isFinite(length) && length > 0 ? have + length : expectedSize;
  let received = have;
  onProgress?.(received, total);
  // Each chunk is written before the next is read, so what arrived is on disk when the connection breaks.
  const file = await open(partFile, append ? 'a' : 'w');
  try {
    for await (const chunk of Readable.fromWeb(res.body as never) as AsyncIterable<Buffer>) {
      await file.write(chunk);
      received += chunk.length;
      onProgress?.(received, total);
    }
  } catch (err) {
    throw new ModelError(`download of ${url} broke off after ${received} bytes (${networkCause(err)}); run the same command again to resume`);
  } finally {
    await file.close();
  }
  if (length > 0 && received - have < length) {
    throw new ModelError(`download of ${url} broke off after ${received} bytes; run the same command again to resume`);
  }
}
