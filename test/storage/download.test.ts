import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL_DOWNLOAD_LIMITS, pullModel } from '../../src/model/pull.js';
import type { Registry } from '../../src/model/registry.js';
import { DownloadError, downloadBytes, downloadFile, type DownloadLimits } from '../../src/storage/download.js';
import { InputReadError, readInput } from '../../src/storage/read-input.js';
import { tempDir } from '../helpers.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const FAST: DownloadLimits = { timeoutSeconds: 5, maxBytes: 2 ** 30, retries: 3 };

/**
 * The one downloader against a loopback server that fails as servers do:
 * a connection closed mid-body, Range ignored, a file replaced between
 * requests, a stall, a 500 that stays, bodies over the limit.
 */
describe('the downloader (storage/download.ts)', () => {
  let server: Server;
  let base: string;
  const body = randomBytes(300_000);
  const replaced = randomBytes(200_000);
  /** Every request: its path, Range and If-Range. */
  const requests: Array<{ url: string; range?: string; ifRange?: string }> = [];
  /** Paths whose next answer stops after half its body and closes the connection. */
  const cutOnce = new Set<string>();
  /** The body and ETag each versioned path has now. */
  const versions = new Map<string, { data: Buffer; etag: string }>();

  const sendRange = (req: IncomingMessage, res: ServerResponse, data: Buffer, etag: string, honourRange = true) => {
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    const partial = honourRange && m && (ifRange === undefined || ifRange === etag);
    const start = partial ? Number(m[1]) : 0;
    const part = data.subarray(start);
    res.writeHead(partial ? 206 : 200, {
      'content-length': part.length, etag, 'accept-ranges': 'bytes',
      ...(partial ? { 'content-range': `bytes ${start}-${data.length - 1}/${data.length}` } : {}),
    });
    if (cutOnce.delete(req.url!)) {
      // The first half reaches the client, then the connection drops.
      res.write(part.subarray(0, part.length >> 1), () => setTimeout(() => res.socket?.destroy(), 100));
      return;
    }
    res.end(part);
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const url = req.url ?? '/';
      requests.push({ url, range: req.headers.range, ifRange: req.headers['if-range'] as string | undefined });
      const name = url.split('/').pop();
      const version = versions.get(url);
      if (version) sendRange(req, res, version.data, version.etag);
      else if (name === 'file.bin') sendRange(req, res, body, '"v1"');
      else if (name === 'no-range.bin') sendRange(req, res, body, '"v1"', false);
      else if (name === 'stall.bin') {
        // The first 1000 bytes, then nothing (and asked for the rest, nothing at all): only a time-out ends the wait.
        const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
        res.writeHead(start ? 206 : 200, { 'content-length': body.length - start, ...(start ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}) });
        if (!start) res.write(body.subarray(0, 1000));
      } else if (name === 'always-500.bin') res.writeHead(500).end();
      else if (name === 'big.png') {
        // No length declared (two writes: chunked): the limit is found while reading.
        res.write(body.subarray(0, 150_000));
        res.end(body.subarray(150_000));
      } else if (name === 'big-declared.png') res.writeHead(200, { 'content-length': 10 * 2 ** 20 }).write(body);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** The requests for `url` made since `from`. */
  const asked = (url: string, from = 0) => requests.slice(from).filter((r) => r.url === url);

  it('resumes after a dropped connection: the second request asks for the rest, and the file is whole', async () => {
    const dir = tempDir();
    const url = `${base}/resume/file.bin`;
    cutOnce.add('/resume/file.bin');
    const progress: number[] = [];
    const got = await downloadFile(url, {
      partFile: path.join(dir, 'file.part'), dest: path.join(dir, 'file.bin'), size: body.length, sha256: sha(body),
      limits: MODEL_DOWNLOAD_LIMITS, retryStalls: true, onStart: () => (received) => progress.push(received),
    });
    expect(got).toEqual({ size: body.length, sha256: sha(body) });
    expect(asked('/resume/file.bin')).toEqual([
      { url: '/resume/file.bin', range: undefined, ifRange: undefined },
      { url: '/resume/file.bin', range: `bytes=${body.length >> 1}-`, ifRange: '"v1"' },
    ]);
    expect(readFileSync(path.join(dir, 'file.bin')).equals(body)).toBe(true);
    // Nothing else is left: no part, no version beside it.
    expect(readdirSync(dir)).toEqual(['file.bin']);
    expect(progress[0]).toBe(0);
    expect(progress.at(-1)).toBe(body.length);
    expect(progress.some((n) => n === body.length >> 1)).toBe(true);

    // An image in memory resumes the same way.
    cutOnce.add('/resume-bytes/file.bin');
    expect((await downloadBytes(`${base}/resume-bytes/file.bin`, { limits: FAST })).equals(body)).toBe(true);
    expect(asked('/resume-bytes/file.bin').map((r) => r.range)).toEqual([undefined, `bytes=${body.length >> 1}-`]);
  });

  it('resumes from the part file an earlier call left, and starts again when the file changed since (If-Range)', async () => {
    const dir = tempDir();
    const at = '/versioned/model.bin';
    versions.set(at, { data: body, etag: '"one"' });
    const o = { partFile: path.join(dir, 'model.part'), dest: path.join(dir, 'model.bin'), limits: { ...FAST, retries: 0 } };
    cutOnce.add(at);
    const first = await downloadFile(`${base}${at}`, o).catch((err) => err);
    expect(first).toBeInstanceOf(DownloadError);
    expect(first.failure.kind).toBe('dropped');
    expect(readFileSync(o.partFile).equals(body.subarray(0, body.length >> 1))).toBe(true);
    expect(existsSync(o.dest)).toBe(false);

    // Unchanged: the next call asks for the rest only.
    const mark = requests.length;
    await downloadFile(`${base}${at}`, o);
    expect(asked(at, mark)).toEqual([{ url: at, range: `bytes=${body.length >> 1}-`, ifRange: '"one"' }]);
    expect(readFileSync(o.dest).equals(body)).toBe(true);

    // Replaced on the server between two calls: the version kept beside the part no longer matches, the whole new file comes.
    cutOnce.add(at);
    await downloadFile(`${base}${at}`, { ...o, dest: path.join(dir, 'again.bin') }).catch(() => undefined);
    versions.set(at, { data: replaced, etag: '"two"' });
    const mark2 = requests.length;
    const got = await downloadFile(`${base}${at}`, { ...o, dest: path.join(dir, 'again.bin') });
    expect(asked(at, mark2)).toEqual([{ url: at, range: `bytes=${body.length >> 1}-`, ifRange: '"one"' }]);
    expect(got.sha256).toBe(sha(replaced));
    expect(readFileSync(path.join(dir, 'again.bin')).equals(replaced)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['again.bin', 'model.bin']);
  });

  it('starts again from zero when the server ignores Range, and the result is right', async () => {
    const dir = tempDir();
    cutOnce.add('/ignored/no-range.bin');
    const got = await downloadFile(`${base}/ignored/no-range.bin`, {
      partFile: path.join(dir, 'x.part'), dest: path.join(dir, 'x.bin'), size: body.length, limits: FAST,
    });
    expect(got.sha256).toBe(sha(body));
    expect(asked('/ignored/no-range.bin').map((r) => r.range)).toEqual([undefined, `bytes=${body.length >> 1}-`]);
    expect(readFileSync(path.join(dir, 'x.bin')).equals(body)).toBe(true);

    // A part holding other bytes (from a server that does not take ranges) is replaced whole, not appended to.
    writeFileSync(path.join(dir, 'y.part'), Buffer.alloc(5000, 7));
    await downloadFile(`${base}/ignored-part/no-range.bin`, { partFile: path.join(dir, 'y.part'), dest: path.join(dir, 'y.bin'), limits: FAST });
    expect(readFileSync(path.join(dir, 'y.bin')).equals(body)).toBe(true);

    cutOnce.add('/ignored-bytes/no-range.bin');
    expect((await downloadBytes(`${base}/ignored-bytes/no-range.bin`, { limits: FAST })).equals(body)).toBe(true);
  });

  it('a model download that stalls is retried from where it stopped, then fails in one line; the part is kept for the next pull', async () => {
    const dir = tempDir();
    const limits = { ...MODEL_DOWNLOAD_LIMITS, timeoutSeconds: 0.3, retries: 1 };
    const url = `${base}/stalls/stall.bin`;
    const err = await downloadFile(url, { partFile: path.join(dir, 's.part'), dest: path.join(dir, 's.bin'), limits, retryStalls: true }).catch((e) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect(err.message).toBe(`${url}: no data for 0.3 s (after 2 attempts)`);
    expect(asked('/stalls/stall.bin').map((r) => r.range)).toEqual([undefined, 'bytes=1000-']);
    expect(readFileSync(path.join(dir, 's.part')).equals(body.subarray(0, 1000))).toBe(true);
    expect(existsSync(path.join(dir, 's.bin'))).toBe(false);

    // Through a pull, in its words.
    const source = (p: string) => ({ repo: 'r', revision: '1', path: p, size: body.length, sha256: null, sha256_source: 'test' });
    const registry: Registry = {
      default: 'm', baseUrl: `${base}/pull`,
      models: new Map([['m', {
        name: 'm', description: 'test', family: 'sam', input_size: 1024, licence: 'test', non_commercial: false,
        files: { encoder: source('stall.bin'), decoder: source('file.bin') },
      }]]),
    };
    const cache = tempDir();
    const pulled = await pullModel(registry, 'm', { cache, env: {}, limits }).catch((e) => e);
    expect(pulled.name).toBe('ModelError');
    expect(pulled.message).toBe(`download of ${base}/pull/r/resolve/1/stall.bin broke off after 1000 bytes and 2 attempts (no data for 0.3 s); run the same command again to resume`);
    expect(readdirSync(path.join(cache, 'downloads')).sort()).toEqual(['m.encoder.stall.bin.part', 'm.encoder.stall.bin.part.version']);
    expect(readdirSync(path.join(cache, 'models'))).toEqual([]);
  });

  it('when the retries run out, one line names the URL and the attempts', async () => {
    const url = `${base}/gone/always-500.bin`;
    const started = performance.now();
    const err = await downloadBytes(url, { limits: { ...FAST, retries: 2 } }).catch((e) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect(err.message).toBe(`${url}: HTTP 500 Internal Server Error (after 3 attempts)`);
    expect(asked('/gone/always-500.bin')).toHaveLength(3);
    // Backoff of 0.5 s, then 1 s.
    expect(performance.now() - started).toBeGreaterThanOrEqual(1400);
    const file = await downloadFile(url, { partFile: path.join(tempDir(), 'p'), dest: path.join(tempDir(), 'd'), limits: { ...FAST, retries: 0 } }).catch((e) => e);
    expect(file.message).toBe(`${url}: HTTP 500 Internal Server Error`);
  });

  it('an image over the size limit fails, declared or found while reading', async () => {
    const limits = { timeoutSeconds: 5, maxBytes: 100_000, retries: 3 };
    // Named as a library caller gives the limit; the CLI's runs say --download-limit (test/storage/http-inputs.test.ts).
    await expect(readInput(`${base}/limit/big.png`, limits)).rejects.toThrow(new InputReadError('body over the downloadLimit of 0.095 MiB'));
    await expect(readInput(`${base}/limit/big-declared.png`, limits, undefined, 'flags')).rejects.toThrow(new InputReadError('body of 10 MiB over the --download-limit of 0.095 MiB'));
    // Neither is retried.
    expect(asked('/limit/big.png')).toHaveLength(1);
    expect(asked('/limit/big-declared.png')).toHaveLength(1);
    const err = await downloadBytes(`${base}/limit/big.png`, { limits }).catch((e) => e);
    expect(err.message).toBe(`${base}/limit/big.png: body over the limit of 100000 bytes`);
  });

  it('checks the size and digest of a finished file, deleting one that fails them; stops at once on the signal', async () => {
    const dir = tempDir();
    const o = { partFile: path.join(dir, 'f.part'), dest: path.join(dir, 'f.bin'), limits: FAST };
    const wrong = await downloadFile(`${base}/digest/file.bin`, { ...o, sha256: '0'.repeat(64) }).catch((e) => e);
    expect(wrong.failure).toEqual({ kind: 'digest', sha256: sha(body), expected: '0'.repeat(64) });
    const short = await downloadFile(`${base}/digest/file.bin`, { ...o, size: body.length + 1 }).catch((e) => e);
    expect(short.failure).toEqual({ kind: 'size', size: body.length, expected: body.length + 1 });
    expect(readdirSync(dir)).toEqual([]);

    const stop = new AbortController();
    const reason = new Error('stopped');
    setTimeout(() => stop.abort(reason), 200);
    const started = performance.now();
    await expect(downloadBytes(`${base}/abort/stall.bin`, { limits: { ...FAST, timeoutSeconds: 60 }, signal: stop.signal })).rejects.toBe(reason);
    expect(performance.now() - started).toBeLessThan(5000);

    const overdue = await downloadBytes(`${base}/overdue/stall.bin`, { limits: { ...FAST, timeoutSeconds: 60, totalSeconds: 0.3 } }).catch((e) => e);
    expect(overdue.message).toBe(`${base}/overdue/stall.bin: not done in 0.3 s`);
  });
});
