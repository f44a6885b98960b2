import { constants as fsConstants } from 'node:fs';
import { access, open } from 'node:fs/promises';
import { describeBytes, DownloadError, downloadBytes, type DownloadLimits } from './download.js';
import { isHttp, isS3, parseS3 } from './location.js';
import { optionName, type OptionNames } from '../errors.js';

export type { DownloadLimits };

/** How images are fetched from HTTP(S) and S3 (S3 takes the size limit; the SDK has its own time-outs and retries). */
export const DEFAULT_DOWNLOAD_LIMITS: DownloadLimits = { timeoutSeconds: 30, maxBytes: 512 * 2 ** 20, retries: 3 };

/** An input that could not be read; the message is the reason, for the image's failure line. */
export class InputReadError extends Error {
  override readonly name = 'InputReadError';
}

const MIB = 2 ** 20;

function overLimit(size: number | undefined, limits: DownloadLimits, names: OptionNames): InputReadError {
  // The limit in the option's own unit, as the user gave it.
  const limit = `${+(limits.maxBytes / MIB).toFixed(3)} MiB`;
  return new InputReadError(`${size === undefined ? 'body' : `body of ${describeBytes(size)}`} over the ${optionName('downloadLimit', names)} of ${limit}`);
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

async function readS3Object(location: string, limits: DownloadLimits, names: OptionNames): Promise<Buffer> {
  const s3 = await import('./s3.js');
  const { bucket, key } = parseS3(location);
  try {
    return await s3.getObject(bucket, key, limits.maxBytes);
  } catch (err) {
    if (err instanceof s3.ObjectTooLarge) throw overLimit(err.size, limits, names);
    throw new InputReadError(s3.describeS3Error(err, bucket));
  }
}

/** An HTTP(S) image, its failure in the words of the run's options. */
async function downloadImage(url: string, limits: DownloadLimits, signal: AbortSignal | undefined, names: OptionNames): Promise<Buffer> {
  try {
    return await downloadBytes(url, { limits, signal });
  } catch (err) {
    if (!(err instanceof DownloadError)) throw err;
    const f = err.failure;
    if (f.kind === 'too-large') throw overLimit(f.size, limits, names);
    throw new InputReadError(f.kind === 'stalled' ? `${err.reason} (${optionName('downloadTimeout', names)})` : err.reason);
  }
}

/**
 * The bytes of an input image: a local file, an HTTP(S) URL or an S3 object.
 * `names`: how a failure names the limits' options (`downloadLimit`, or the CLI's `--download-limit`).
 */
export function readInput(location: string, limits: DownloadLimits = DEFAULT_DOWNLOAD_LIMITS, signal?: AbortSignal, names: OptionNames = 'keys'): Promise<Buffer> {
  if (isHttp(location)) return downloadImage(location, limits, signal, names);
  if (isS3(location)) return readS3Object(location, limits, names);
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
