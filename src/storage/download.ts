import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';

/**
 * The one HTTP(S) downloader: images into memory, model files into a file.
 * An attempt fails after a stall (and the whole download after an optional
 * deadline); 5xx, 429 and dropped connections (and, where asked, stalls)
 * are retried with backoff, each retry resuming with a Range request after
 * the bytes already received. If-Range holds a resume to the same version
 * of the file: a server that ignores Range, or has another version, sends
 * the whole body and the download starts again from zero.
 */

/** How a download is bounded. */
export interface DownloadLimits {
  /** Seconds without a byte (connecting, waiting for headers, reading the body) before an attempt fails. */
  timeoutSeconds: number;
  /** Bodies larger than this fail (unread when the server declares their length). */
  maxBytes: number;
  /**
   * Further attempts after a 5xx, a 429 or a dropped connection, waiting 0.5 s, 1 s, 2 s, … (or the
   * server's Retry-After, up to 30 s); an attempt that got further than any before starts the count again.
   */
  retries: number;
  /** Seconds for the whole download, attempts and waits included; none when absent. */
  totalSeconds?: number;
}

/** Bytes received so far and the whole size, where known. */
export type ProgressFn = (received: number, total: number | null) => void;

export interface DownloadOptions {
  limits: DownloadLimits;
  /** Stops the download: what it throws is then the signal's reason. */
  signal?: AbortSignal;
  /** Retry a stall as a dropped connection is (where resuming makes the wait worth it); by default a stall fails at once. */
  retryStalls?: boolean;
  /** Called once, when the server first answers with the body (not when it cannot be reached); returns the progress callback. */
  onStart?: () => ProgressFn | undefined;
}

export interface FileDownloadOptions extends DownloadOptions {
  /** Where the bytes gather; kept when a download fails, so that the next call resumes from it. */
  partFile: string;
  /** Where the complete, verified file is renamed to. */
  dest: string;
  /** The size the file must have: a part that holds it already needs no request, one larger starts again. */
  size?: number | null;
  /** The SHA-256 (hex) the file must have. */
  sha256?: string;
}

/** Why a download failed, for the caller to word in its own terms. */
export type DownloadFailure =
  | { kind: 'status'; status: number; statusText: string }
  /** No answer: a refused connection, a name that does not resolve. */
  | { kind: 'unreachable'; cause: string }
  /** The connection broke while the body came. */
  | { kind: 'dropped'; cause: string }
  | { kind: 'stalled'; seconds: number }
  | { kind: 'overdue'; seconds: number }
  /** Size is the declared one; absent when the body passed the limit while it was read. */
  | { kind: 'too-large'; size?: number; maxBytes: number }
  /** The complete file does not have the size or digest it must: it was deleted. */
  | { kind: 'size'; size: number; expected: number }
  | { kind: 'digest'; sha256: string; expected: string };

const MIB = 2 ** 20;
export const describeBytes = (n: number) => (n >= MIB ? `${+(n / MIB).toFixed(1)} MiB` : `${n} bytes`);

function describeFailure(f: DownloadFailure): string {
  switch (f.kind) {
    case 'status': return `HTTP ${f.status}${f.statusText ? ` ${f.statusText}` : ''}`;
    case 'unreachable': return `cannot fetch it (${f.cause})`;
    case 'dropped': return `the connection dropped while reading (${f.cause})`;
    case 'stalled': return `no data for ${f.seconds} s`;
    case 'overdue': return `not done in ${f.seconds} s`;
    case 'too-large': return `${f.size === undefined ? 'body' : `body of ${describeBytes(f.size)}`} over the limit of ${describeBytes(f.maxBytes)}`;
    case 'size': return `${f.size} bytes where ${f.expected} were expected; the download was deleted`;
    case 'digest': return `sha256 ${f.sha256} where ${f.expected} was expected; the download was deleted`;
  }
}

/** A download that failed, in one line naming the URL: `https://x/a.png: HTTP 503 Service Unavailable (after 4 attempts)`. */
export class DownloadError extends Error {
  override readonly name = 'DownloadError';
  /** The message without the URL. */
  readonly reason: string;

  constructor(
    readonly url: string,
    readonly failure: DownloadFailure,
    /** Bytes received (in the part file, for a file download) when it failed. */
    readonly received: number,
    /** Requests made. */
    readonly attempts: number,
    /** Whether retries ran out (rather than a failure no retry could mend). */
    readonly exhausted: boolean,
  ) {
    const reason = `${describeFailure(failure)}${exhausted && attempts > 1 ? ` (after ${attempts} attempts)` : ''}`;
    super(`${url}: ${reason}`);
    this.reason = reason;
  }
}

/** Where the bytes of a download go; `restart` drops what it holds. */
interface Sink {
  readonly size: number;
  append(chunk: Uint8Array): Promise<void> | void;
  restart(): Promise<void> | void;
}

/** What a server said identifies the version of a file, for If-Range. */
interface Validator {
  etag?: string;
  lastModified?: string;
}

function validatorOf(headers: Headers): Validator {
  const etag = headers.get('etag') ?? undefined;
  return { etag: etag?.startsWith('W/') ? undefined : etag, lastModified: headers.get('last-modified') ?? undefined };
}

interface Transfer {
  validator?: Validator;
  /** Called when the validator of the bytes held changes, before any of them is appended. */
  onValidator?: (v: Validator) => Promise<void>;
  /** The size the whole body has, when known beforehand. */
  size: number | null;
  progress?: ProgressFn;
  started: boolean;
}

const RETRYABLE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'EAI_AGAIN']);

/** An attempt failed; `retry` when another may do better. */
class AttemptFailed extends Error {
  constructor(readonly failure: DownloadFailure, readonly retry: boolean, readonly retryAfterSeconds?: number) {
    super(failure.kind);
  }
}

/** The answer to a Range request does not continue the bytes held: ask again from zero. */
class StartAgain extends Error {}

/** Writing what arrived failed (a full disk): the caller's fault to report, not the server's. */
class SinkFailed extends Error {
  constructor(readonly fault: unknown) {
    super('sink');
  }
}

const codeOf = (err: unknown) => (err as { cause?: { code?: string } }).cause?.code ?? (err as { code?: string }).code;
const causeOf = (err: unknown) => codeOf(err) ?? (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message ?? String(err);

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** One request: the rest of the body appended to the sink, or AttemptFailed, StartAgain, SinkFailed or the caller's abort reason. */
async function attempt(url: string, sink: Sink, t: Transfer, o: DownloadOptions, deadline: AbortSignal | undefined): Promise<void> {
  const { limits, signal } = o;
  const stall = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => stall.abort(), limits.timeoutSeconds * 1000);
  };
  const abort = AbortSignal.any([stall.signal, ...(signal ? [signal] : []), ...(deadline ? [deadline] : [])]);
  const ended = (err: unknown, kind: 'unreachable' | 'dropped'): never => {
    // The run was stopped (SIGINT): no failure of this download.
    if (signal?.aborted) throw signal.reason;
    if (deadline?.aborted) throw new AttemptFailed({ kind: 'overdue', seconds: limits.totalSeconds! }, false);
    if (stall.signal.aborted) throw new AttemptFailed({ kind: 'stalled', seconds: limits.timeoutSeconds }, !!o.retryStalls);
    const code = codeOf(err);
    throw new AttemptFailed({ kind, cause: causeOf(err) }, kind === 'dropped' || (code !== undefined && RETRYABLE_CODES.has(code)));
  };
  arm();
  try {
    const have = sink.size;
    // The bytes of the file, not of a compressed stream, as a Range counts them (fetch adds identity to a Range request itself).
    const headers: Record<string, string> = have > 0 ? {} : { 'accept-encoding': 'identity' };
    if (have > 0) {
      headers.range = `bytes=${have}-`;
      const version = t.validator?.etag ?? t.validator?.lastModified;
      if (version) headers['if-range'] = version;
    }
    let response: Response;
    try {
      response = await fetch(url, { signal: abort, redirect: 'follow', headers });
    } catch (err) {
      return ended(err, 'unreachable');
    }
    const discard = () => response.body?.cancel().catch(() => undefined);
    if (response.status === 416 && have > 0) {
      await discard();
      const whole = Number(/\/(\d+)\s*$/.exec(response.headers.get('content-range') ?? '')?.[1] ?? NaN);
      // The part already holds the whole file.
      if (whole === have || (Number.isNaN(whole) && t.size === null)) return;
      throw new StartAgain();
    }
    const status: DownloadFailure = { kind: 'status', status: response.status, statusText: response.statusText };
    if (response.status === 429 || response.status >= 500) {
      await discard();
      const after = Number(response.headers.get('retry-after') ?? NaN);
      throw new AttemptFailed(status, true, Number.isFinite(after) && after >= 0 ? after : undefined);
    }
    if (!response.ok) {
      await discard();
      throw new AttemptFailed(status, false);
    }
    const version = validatorOf(response.headers);
    if (response.status === 206) {
      const start = Number(/^bytes\s+(\d+)-/.exec(response.headers.get('content-range') ?? '')?.[1] ?? NaN);
      const changed = t.validator?.etag !== undefined && version.etag !== undefined && version.etag !== t.validator.etag;
      if (start !== have || changed) {
        await discard();
        throw new StartAgain();
      }
    } else if (have > 0) {
      // The whole body: the server ignores Range, or the file changed since the bytes held came.
      await sink.restart();
    }
    if (sink.size === 0 || !t.validator) {
      t.validator = version;
      await t.onValidator?.(version);
    }
    const length = Number(response.headers.get('content-length') ?? NaN);
    const total = Number.isFinite(length) ? sink.size + length : t.size;
    if (total !== null && total > limits.maxBytes) {
      await discard();
      throw new AttemptFailed({ kind: 'too-large', size: total, maxBytes: limits.maxBytes }, false);
    }
    if (!t.started) {
      t.started = true;
      t.progress = o.onStart?.();
    }
    t.progress?.(sink.size, total);
    const from = sink.size;
    try {
      for await (const chunk of (response.body ?? []) as AsyncIterable<Uint8Array>) {
        clearTimeout(timer);
        if (sink.size + chunk.length > limits.maxBytes) {
          stall.abort();
          throw new AttemptFailed({ kind: 'too-large', maxBytes: limits.maxBytes }, false);
        }
        // Each chunk is kept before the next is read, so what arrived is there when the connection breaks.
        await Promise.resolve(sink.append(chunk)).catch((err) => { throw new SinkFailed(err); });
        t.progress?.(sink.size, total);
        arm();
      }
    } catch (err) {
      if (err instanceof AttemptFailed || err instanceof SinkFailed) throw err;
      ended(err, 'dropped');
    }
    if (Number.isFinite(length) && sink.size - from < length) {
      throw new AttemptFailed({ kind: 'dropped', cause: `${sink.size - from} of ${length} bytes came` }, true);
    }
  } finally {
    clearTimeout(timer);
  }
}

/** Attempts until the body is whole, a failure no retry mends, or the retries run out. */
async function transfer(url: string, sink: Sink, t: Transfer, o: DownloadOptions): Promise<void> {
  const { limits, signal } = o;
  const overdue = new AbortController();
  const deadline = limits.totalSeconds === undefined ? undefined : setTimeout(() => overdue.abort(), limits.totalSeconds * 1000);
  const waits = AbortSignal.any([overdue.signal, ...(signal ? [signal] : [])]);
  let attempts = 0;
  let failures = 0;
  let furthest = sink.size;
  try {
    for (;;) {
      attempts++;
      try {
        return await attempt(url, sink, t, o, deadline === undefined ? undefined : overdue.signal);
      } catch (err) {
        if (err instanceof SinkFailed) throw err.fault;
        if (err instanceof StartAgain) {
          await sink.restart();
          continue;
        }
        if (!(err instanceof AttemptFailed)) throw err;
        if (sink.size > furthest) {
          furthest = sink.size;
          failures = 0;
        }
        if (!err.retry || failures >= limits.retries) throw new DownloadError(url, err.failure, sink.size, attempts, err.retry);
        const backoff = err.retryAfterSeconds !== undefined ? Math.min(err.retryAfterSeconds, 30) : Math.min(0.5 * 2 ** failures, 30);
        failures++;
        await sleep(backoff * 1000, waits);
        if (signal?.aborted) throw signal.reason;
        if (overdue.signal.aborted) throw new DownloadError(url, { kind: 'overdue', seconds: limits.totalSeconds! }, sink.size, attempts, false);
      }
    }
  } finally {
    clearTimeout(deadline);
  }
}

/** An HTTP(S) body in memory (an image). */
export async function downloadBytes(url: string, o: DownloadOptions): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  const sink = {
    size: 0,
    append(chunk: Uint8Array) {
      chunks.push(chunk);
      this.size += chunk.length;
    },
    restart() {
      chunks.length = 0;
      this.size = 0;
    },
  };
  await transfer(url, sink, { size: null, started: false }, o);
  return Buffer.concat(chunks, sink.size);
}

/** A part file appended to, hashed as it grows. */
class PartFile implements Sink {
  size = 0;
  private hash = createHash('sha256');
  private handle: FileHandle | undefined;

  private constructor(readonly file: string) {}

  /** The part as a previous download left it (dropped when larger than the file can be), its bytes hashed. */
  static async open(file: string, expected: number | null): Promise<PartFile> {
    const part = new PartFile(file);
    const have = await stat(file).then((s) => s.size, () => 0);
    if (expected !== null && have > expected) await rm(file, { force: true });
    else if (have > 0) {
      for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
        part.hash.update(chunk);
        part.size += chunk.length;
      }
    }
    return part;
  }

  async append(chunk: Uint8Array): Promise<void> {
    this.handle ??= await open(this.file, 'a');
    for (let done = 0; done < chunk.length;) done += (await this.handle.write(chunk, done)).bytesWritten;
    this.hash.update(chunk);
    this.size += chunk.length;
  }

  async restart(): Promise<void> {
    await this.close();
    this.handle = await open(this.file, 'w');
    this.hash = createHash('sha256');
    this.size = 0;
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

/**
 * Downloads `url` into `dest` through `partFile`: a part left by an earlier
 * call is resumed (a Range request with If-Range, the version kept beside
 * it in `<partFile>.version`), the complete file is checked against the
 * size and SHA-256 given (and deleted when it fails them), and only then
 * renamed to `dest`. Nothing half-written ever stands at `dest`.
 */
export async function downloadFile(url: string, o: FileDownloadOptions): Promise<{ size: number; sha256: string }> {
  const expected = o.size ?? null;
  const versionFile = `${o.partFile}.version`;
  const part = await PartFile.open(o.partFile, expected);
  const known = part.size > 0 ? await readFile(versionFile, 'utf8').then((s) => JSON.parse(s) as Validator, () => undefined) : undefined;
  try {
    if (part.size !== expected) {
      await transfer(url, part, {
        validator: known, size: expected, started: false, onValidator: (v) => writeFile(versionFile, JSON.stringify(v)),
      }, o);
    }
  } finally {
    await part.close();
  }
  const sha256 = part.digest();
  const wrong: DownloadFailure | undefined = expected !== null && part.size !== expected ? { kind: 'size', size: part.size, expected }
    : o.sha256 && sha256 !== o.sha256 ? { kind: 'digest', sha256, expected: o.sha256 } : undefined;
  await rm(versionFile, { force: true });
  if (wrong) {
    await rm(o.partFile, { force: true });
    throw new DownloadError(url, wrong, part.size, 1, false);
  }
  await rename(o.partFile, o.dest);
  return { size: part.size, sha256 };
}
