import { constants as fsConstants } from 'node:fs';
import { access, open } from 'node:fs/promises';
import { isHttp, isS3, parseS3 } from './location.js';

/** How images are fetched from HTTP(S) and S3. */
export interface DownloadLimits {
  /** Seconds without a byte (connecting, waiting for headers, reading the body) before a download fails. */
  timeoutSeconds: number;
  /** Bodies larger than this fail unread. */
  maxBytes: number;
  /** Further attempts after a 5xx, a 429 or a dropped connection, waiting 0.5 s, 1 s, 2 s, … (or the server's Retry-After). */
  retries: number;
}

export const DEFAULT_DOWNLOAD_LIMITS: DownloadLimits = { timeoutSeconds: 30, maxBytes: 512 * 2 ** 20, retries: 3 };

/** An input that could not be read; the message is the reason, for the image's failure line. */
export class InputReadError extends Error {
  override readonly name = 'InputReadError';
}

const MIB = 2 ** 20;
const describeBytes = (n: number) => (n >= MIB ? `${+(n / MIB).toFixed(1)} MiB` : `${n} bytes`);

function overLimit(size: number | undefined, limits: DownloadLimits): InputReadError {
  // The limit in the option's own unit, as the user gave it.
  const limit = `${+(limits.maxBytes / MIB).toFixed(3)} MiB`;
  return new InputReadError(`${size === undefined ? 'body' : `body of ${describeBytes(size)}`} over the --download-limit of ${limit}`);
}

/**
 * An input's bytes, if it is a regular file: a device such as /dev/zero
 * would be read forever and a FIFO would block the run.
 */
export async function readRegularFile(file: string): Promise<Buffer> {
  // O_NONBLOCK: opening a FIFO must not wait for a writer before the check below.
  const handle = await open(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  try {
    if (!(await handle.stat()).isFile()) throw new InputReadError('not a regular file');
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

async function readS3Object(location: string, limits: DownloadLimits): Promise<Buffer> {
  const s3 = await import('./s3.js');
  const { bucket, key } = parseS3(location);
  try {
    return await s3.getObject(bucket, key, limits.maxBytes);
  } catch (err) {
    if (err instanceof s3.ObjectTooLarge) throw overLimit(err.size, limits);
    throw new InputReadError(s3.describeS3Error(err, bucket));
  }
}

const RETRYABLE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'EAI_AGAIN']);
const sleep = (ms: number, signal?: AbortSignal) => new Promise<void>((resolve) => {
  const timer = setTimeout(resolve, ms);
  signal?.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
});

class Retryable extends Error {
  constructor(message: string, readonly retryAfterSeconds?: number) {
    super(message);
  }
}

/** One attempt: the body, or an InputReadError (final) or Retryable. */
async function fetchOnce(url: string, limits: DownloadLimits, signal?: AbortSignal): Promise<Buffer> {
  const stall = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => stall.abort(), limits.timeoutSeconds * 1000);
  };
  const abort = signal ? AbortSignal.any([signal, stall.signal]) : stall.signal;
  const timedOut = () => new InputReadError(`no data for ${limits.timeoutSeconds} s (--download-timeout)`);
  arm();
  try {
    let response: Response;
    try {
      response = await fetch(url, { signal: abort, redirect: 'follow' });
    } catch (err) {
      // The run was stopped (SIGINT): not this image's failure.
      if (signal?.aborted) throw signal.reason;
      if (stall.signal.aborted) throw timedOut();
      const code = (err as { cause?: { code?: string } }).cause?.code;
      const what = code ? `cannot fetch it (${code})` : `cannot fetch it (${(err as Error).message})`;
      if (code && RETRYABLE_CODES.has(code)) throw new Retryable(what);
      throw new InputReadError(what);
    }
    const status = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
    if (response.status === 429 || response.status >= 500) {
      await response.body?.cancel().catch(() => undefined);
      const after = Number(response.headers.get('retry-after'));
      throw new Retryable(status, Number.isFinite(after) && after >= 0 ? after : undefined);
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw new InputReadError(status);
    }
    const declared = Number(response.headers.get('content-length') ?? NaN);
    if (declared > limits.maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw overLimit(declared, limits);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of response.body ?? []) {
        arm();
        total += chunk.length;
        if (total > limits.maxBytes) {
          stall.abort();
          throw overLimit(undefined, limits);
        }
        chunks.push(Buffer.from(chunk));
      }
    } catch (err) {
      if (err instanceof InputReadError) throw err;
      if (signal?.aborted) throw signal.reason;
      if (stall.signal.aborted) throw timedOut();
      const code = (err as { cause?: { code?: string }; code?: string }).cause?.code ?? (err as { code?: string }).code;
      throw new Retryable(`the connection dropped while reading (${code ?? (err as Error).message})`);
    }
    return Buffer.concat(chunks, total);
  } finally {
    clearTimeout(timer);
  }
}

/** An HTTP(S) body, retried on 5xx, 429 and dropped connections with backoff, within the limits. */
export async function download(url: string, limits: DownloadLimits, signal?: AbortSignal): Promise<Buffer> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetchOnce(url, limits, signal);
    } catch (err) {
      if (!(err instanceof Retryable)) throw err;
      if (attempt >= limits.retries || signal?.aborted) {
        throw new InputReadError(`${err.message}${attempt > 0 ? ` (after ${attempt + 1} attempts)` : ''}`);
      }
      const backoff = err.retryAfterSeconds !== undefined ? Math.min(err.retryAfterSeconds, 30) : 0.5 * 2 ** attempt;
      await sleep(backoff * 1000, signal);
    }
  }
}

/** The bytes of an input image: a local file, an HTTP(S) URL or an S3 object. */
export function readInput(location: string, limits: DownloadLimits = DEFAULT_DOWNLOAD_LIMITS, signal?: AbortSignal): Promise<Buffer> {
  if (isHttp(location)) return download(location, limits, signal);
  if (isS3(location)) return readS3Object(location, limits);
  return readRegularFile(location);
}

/**
 * Whether an input may still be there: a local file is looked for; a URL or
 * an S3 object is taken to be (asking would cost a request per name).
 */
export async function mayStillExist(location: string): Promise<boolean> {
  if (isHttp(location) || isS3(location)) return true;
  return access(location).then(() => true, () => false);
}
