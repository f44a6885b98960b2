import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnCli, tempDir, TINY, writeScenes } from '../helpers.js';

const FAST = ['--model', TINY, '--points-per-side', '4'];

/**
 * Images over HTTP from a server on loopback started here, with the ways
 * servers fail: a 404, a stall before and during the body, a body over the
 * size limit (declared and not), a 503 and a dropped connection before a 200,
 * a 500 that stays.
 */
describe('HTTP(S) inputs', () => {
  let server: Server;
  let base: string;
  let images: string;
  let names: string[];
  const requests = new Map<string, number>();

  beforeAll(async () => {
    images = tempDir();
    names = await writeScenes(images, 12);
    const scene = (n: number) => readFileSync(path.join(images, names[n]));
    server = createServer((req, res) => {
      const url = req.url ?? '/';
      const seen = (requests.get(url) ?? 0) + 1;
      requests.set(url, seen);
      if (url.startsWith('/img/')) {
        const body = readFileSync(path.join(images, decodeURIComponent(url.slice(5).split('?')[0])));
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': body.length });
        res.end(body);
      } else if (url === '/flaky.png') {
        if (seen === 1) res.writeHead(503).end();
        else res.writeHead(200, { 'content-type': 'image/png' }).end(scene(1));
      } else if (url === '/reset.png') {
        if (seen === 1) req.socket.destroy();
        else res.writeHead(200).end(scene(2));
      } else if (url === '/always-500.png') {
        res.writeHead(500).end();
      } else if (url === '/silent.png') {
        // Never answers: only the time-out ends the wait.
      } else if (url === '/stall.png') {
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': 5000 });
        res.write(scene(3).subarray(0, 100));
      } else if (url === '/big.png') {
        // No length declared: the limit is found while reading.
        res.writeHead(200, { 'content-type': 'image/png' });
        for (let k = 0; k < 20; k++) res.write(Buffer.alloc(10_000, k));
        res.end();
      } else if (url === '/big-declared.png') {
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': 10 * 2 ** 20 });
        res.write(Buffer.alloc(1000));
      } else if (url === '/private.png') {
        res.writeHead(403).end();
      } else if (url === '/page.png') {
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html>not an image</html>');
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('reads URLs from --list and the command line; each failing URL fails alone with its cause; 5xx and resets are retried', async () => {
    const host = `127.0.0.1_${new URL(base).port}`;
    const list = path.join(tempDir(), 'urls.txt');
    const entries = [
      `${base}/img/${names[0]}`, `${base}/missing.png`, `${base}/flaky.png`, `${base}/reset.png`, `${base}/silent.png`,
      `${base}/stall.png`, `${base}/big.png`, `${base}/big-declared.png`, `${base}/always-500.png`, `${base}/page.png`, `${base}/private.png`,
    ];
    writeFileSync(list, `# images to label\n${entries.join('\n')}\n`);
    const out = tempDir();
    const local = tempDir();
    const started = performance.now();
    const res = await runCli([`${base}/img/${names[11]}`, '--list', list, '--out', out, ...FAST,
      '--download-timeout', '1', '--download-limit', '0.1', '--download-retries', '1']);
    const seconds = (performance.now() - started) / 1000;
    expect(res.code, res.stderr).toBe(1);
    // Two time-outs of 1 s, two retries of 0.5 s and the model: bounded (seconds on an idle machine; a stall
    // that never timed out would run until runCli's kill at 120 s).
    expect(seconds).toBeLessThan(60);
    const failures = readFileSync(path.join(out, 'failures.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(failures).toEqual([
      { path: `${base}/missing.png`, reason: 'HTTP 404 Not Found' },
      { path: `${base}/silent.png`, reason: 'no data for 1 s (--download-timeout)' },
      { path: `${base}/stall.png`, reason: 'no data for 1 s (--download-timeout)' },
      { path: `${base}/big.png`, reason: 'body over the --download-limit of 0.1 MiB' },
      { path: `${base}/big-declared.png`, reason: 'body of 10 MiB over the --download-limit of 0.1 MiB' },
      { path: `${base}/always-500.png`, reason: 'HTTP 500 Internal Server Error (after 2 attempts)' },
      { path: `${base}/page.png`, reason: 'not an image in a supported format' },
      { path: `${base}/private.png`, reason: 'HTTP 403 Forbidden' },
    ]);
    for (const f of failures) expect(res.stderr).toContain(`sam-amg: ${f.path}: ${f.reason}\n`);
    expect(requests.get('/flaky.png')).toBe(2);
    expect(requests.get('/reset.png')).toBe(2);
    expect(requests.get('/missing.png')).toBe(1);
    expect(requests.get('/always-500.png')).toBe(2);

    // The masks of a downloaded image are those of the same file read from disk; its name is host and path.
    const ran = await runCli([images, '--out', local, ...FAST]);
    expect(ran.code, ran.stderr).toBe(0);
    const pairs: Array<[string, string]> = [
      [`${host}/img/${names[0].replace('.png', '.json')}`, names[0]], [`${host}/img/${names[11].replace('.png', '.json')}`, names[11]],
      [`${host}/flaky.json`, names[1]], [`${host}/reset.json`, names[2]],
    ];
    for (const [remote, name] of pairs) {
      const got = JSON.parse(readFileSync(path.join(out, remote), 'utf8'));
      const want = JSON.parse(readFileSync(path.join(local, name.replace('.png', '.json')), 'utf8'));
      expect(got.image.file_name).toBe(remote.replace('.json', '.png').replace(/(flaky|reset)\.png$/, '$1.png'));
      expect(got.annotations.length).toBeGreaterThan(0);
      expect(got.annotations).toEqual(want.annotations);
      // The digest that resume compares is of the bytes downloaded.
      expect(got.info.image_sha256).toBe(want.info.image_sha256);
    }
    expect(res.stderr).toContain('12 images: 4 written, 0 already done, 8 failed');

    // The review site can take its pictures from the same server.
    const report = await runCli(['report', local, '--to', path.join(tempDir(), 'report'), '--images', `${base}/img`]);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stderr).toMatch(/^sam-amg: report of 12 images and \d+ masks in \S+ \([\d.]+ s\)\n$/);
  });

  it('SIGINT during a download stops the run (exit 130) without counting the image as failed', async () => {
    const out = tempDir();
    let timer: NodeJS.Timeout | undefined;
    const run = spawnCli([`${base}/silent.png`, '--out', out, ...FAST, '--json', '--download-timeout', '60'], (line, child) => {
      if (JSON.parse(line).event === 'start') timer = setTimeout(() => child.kill('SIGINT'), 500);
    });
    const stopped = await run.done;
    clearTimeout(timer);
    expect(stopped.code, stopped.stderr).toBe(130);
    expect(stopped.stderr).not.toContain('silent.png:');
    expect(existsSync(path.join(out, 'failures.jsonl'))).toBe(false);
  });

  it('refuses an HTTP(S) URL as --out, before any model loads', async () => {
    const res = await runCli([`${base}/img/${names[0]}`, '--out', `${base}/masks`, ...FAST]);
    expect(res.code).toBe(2);
    expect(res.stderr).toBe(`sam-amg: --out ${base}/masks: outputs go to a folder or an s3://bucket/prefix, not to an HTTP(S) URL\n`);
  });
});
