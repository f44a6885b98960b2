import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli, spawnCli, tempDir, testEnv, TINY, writeScenes } from '../helpers.js';
import { startS3rver } from '../s3rver.mjs';

/**
 * Runs from and to an S3-protocol server on loopback (s3rver, file-backed),
 * started and stopped here. s3rver checks access key ids but not SigV4
 * signatures, so a wrong secret is played by a loopback server that answers
 * as S3 does to one.
 */

const FAST = ['--model', TINY, '--points-per-side', '4'];
const KEY = 'S3RVER';
const IMAGES = 12;

interface S3Server {
  server: { close(): Promise<void> };
  endpoint: string;
}

async function startS3(buckets: string[], directory = tempDir('sam-amg-s3rver-'), port = 0): Promise<S3Server & { directory: string; port: number }> {
  const started = await startS3rver({ directory, buckets, port });
  return { server: started.server, endpoint: `http://127.0.0.1:${started.port}`, directory, port: started.port };
}

function s3Env(endpoint: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return testEnv({ AWS_ACCESS_KEY_ID: KEY, AWS_SECRET_ACCESS_KEY: KEY, AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1', ...extra });
}

/** Every file of a local folder, by relative name. */
function localFiles(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) files.set(path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'), readFileSync(path.join(e.parentPath, e.name)));
  }
  return files;
}

describe('S3: images from a bucket, masks to a bucket', () => {
  let s3: S3Server;
  let client: S3Client;
  let local: string;
  let localOut: string;
  let localPngOut: string;

  const objects = async (prefix: string): Promise<Map<string, Buffer>> => {
    const found = new Map<string, Buffer>();
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: 'data', Prefix: `${prefix}/`, ContinuationToken: token }));
      for (const o of page.Contents ?? []) {
        const got = await client.send(new GetObjectCommand({ Bucket: 'data', Key: o.Key! }));
        found.set(o.Key!.slice(prefix.length + 1), Buffer.from(await got.Body!.transformToByteArray()));
      }
      token = page.NextContinuationToken;
    } while (token);
    return found;
  };

  beforeAll(async () => {
    s3 = await startS3(['data']);
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
    client = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: { accessKeyId: KEY, secretAccessKey: KEY } });
    local = tempDir();
    const names = await writeScenes(local, IMAGES);
    for (const name of names) {
      await client.send(new PutObjectCommand({ Bucket: 'data', Key: `images/${name}`, Body: readFileSync(path.join(local, name)) }));
    }
    // Not an image: skipped by extension, as in a folder.
    await client.send(new PutObjectCommand({ Bucket: 'data', Key: 'images/notes.txt', Body: 'not an image' }));
    localOut = tempDir();
    localPngOut = tempDir();
    for (const [out, format] of [[localOut, 'json'], [localPngOut, 'png']]) {
      const res = await runCli([local, '--out', out, '--format', format, ...FAST]);
      expect(res.code, res.stderr).toBe(0);
    }
    // A server, 13 uploads and two runs of 12 images: seconds on an idle machine, past the minute hooks get on a busy one.
  }, 180_000);

  afterAll(async () => {
    client?.destroy();
    await s3?.server.close();
  });

  it('a run from s3://…/images to s3://…/masks writes the same files as a local run, byte for byte', async () => {
    const res = await runCli(['s3://data/images', '--out', 's3://data/masks', ...FAST], { env: s3Env(s3.endpoint) });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain(`${IMAGES} images: ${IMAGES} written`);
    expect(res.stderr).toContain('1 non-image file skipped');
    const remote = await objects('masks');
    const expected = localFiles(localOut);
    expect([...remote.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [name, bytes] of expected) expect(remote.get(name)!.equals(bytes), name).toBe(true);

    // The PNG folders too: every mask picture, metadata.csv and record.
    const png = await runCli(['s3://data/images', '--out', 's3://data/masks-png', '--format', 'png', ...FAST], { env: s3Env(s3.endpoint) });
    expect(png.code, png.stderr).toBe(0);
    const remotePng = await objects('masks-png');
    const expectedPng = localFiles(localPngOut);
    expect([...remotePng.keys()].sort()).toEqual([...expectedPng.keys()].sort());
    for (const [name, bytes] of expectedPng) expect(remotePng.get(name)!.equals(bytes), name).toBe(true);

    // Rerun: everything is read back from the bucket and skipped.
    const again = await runCli(['s3://data/images', '--out', 's3://data/masks', ...FAST], { env: s3Env(s3.endpoint) });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`0 written, ${IMAGES} already done`);
  });

  it('rewrites a PNG folder whose image changed: masks the new version lacks are deleted, the record written last', async () => {
    const { default: sharp } = await import('sharp');
    const flat = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#507090' } }).png().toBuffer();
    const put = (body: Buffer) => client.send(new PutObjectCommand({ Bucket: 'data', Key: 'edit/one.png', Body: body }));
    const run = () => runCli(['s3://data/edit', '--out', 's3://data/edit-masks', '--format', 'png', ...FAST], { env: s3Env(s3.endpoint) });
    await put(readFileSync(path.join(local, 'a/scene-000.png')));
    expect((await run()).code).toBe(0);
    const first = await objects('edit-masks');
    await put(flat);
    const second = await run();
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain('1 image: 0 written, 1 changed');
    // What a local run over the new image writes, and nothing of the old version.
    const dir = tempDir();
    writeFileSync(path.join(dir, 'one.png'), flat);
    const want = tempDir();
    expect((await runCli([dir, '--out', want, '--format', 'png', ...FAST])).code).toBe(0);
    const expected = localFiles(want);
    const got = await objects('edit-masks');
    expect([...got.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [name, bytes] of expected) expect(got.get(name)!.equals(bytes), name).toBe(true);
    expect([...first.keys()].filter((k) => k.endsWith('.png')).length).toBeGreaterThan([...got.keys()].filter((k) => k.endsWith('.png')).length);
  });

  it('resumes after kill -9: the rerun writes only what is missing, and the prefix equals a local run', async () => {
    let done = 0;
    const killed = spawnCli(['s3://data/images', '--out', 's3://data/masks-killed', ...FAST, '--json'], (line, child) => {
      if (JSON.parse(line).event === 'image_done' && ++done === 4) child.kill('SIGKILL');
    }, s3Env(s3.endpoint));
    expect((await killed.done).signal).toBe('SIGKILL');
    const before = await objects('masks-killed');
    const beforeImages = [...before.keys()].filter((k) => k.endsWith('.json') && !k.startsWith('.'));
    expect(beforeImages.length).toBeGreaterThanOrEqual(4);
    expect(beforeImages.length).toBeLessThan(IMAGES);

    const events: Array<Record<string, unknown>> = [];
    const rerun = spawnCli(['s3://data/images', '--out', 's3://data/masks-killed', ...FAST, '--json'], (line) => events.push(JSON.parse(line)), s3Env(s3.endpoint));
    expect((await rerun.done).code).toBe(0);
    expect(events.filter((e) => e.event === 'image_skipped').length).toBe(beforeImages.length);
    expect(events.filter((e) => e.event === 'image_done').length).toBe(IMAGES - beforeImages.length);
    const after = await objects('masks-killed');
    const expected = localFiles(localOut);
    expect([...after.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [name, bytes] of expected) expect(after.get(name)!.equals(bytes), name).toBe(true);
  });

  it('two shards write disjoint keys into one prefix; status, merge and export read it', async () => {
    const shard = (i: number) => runCli(['s3://data/images', '--out', 's3://data/masks-shards', '--shard', `${i}/2`, ...FAST], { env: s3Env(s3.endpoint) });
    const [a, b] = await Promise.all([shard(0), shard(1)]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const written = [a, b].map((r) => Number(/(\d+) written/.exec(r.stderr)![1]));
    expect(written[0] + written[1]).toBe(IMAGES);
    expect(Math.min(...written)).toBeGreaterThan(0);
    const remote = await objects('masks-shards');
    for (const [name, bytes] of localFiles(localOut)) expect(remote.get(name)?.equals(bytes), name).toBe(true);

    const status = await runCli(['status', 's3://data/masks-shards', '--shards', '2', '--json'], { env: s3Env(s3.endpoint) });
    expect(status.code, status.stderr).toBe(0);
    const parsed = JSON.parse(status.stdout);
    expect(parsed.done).toBe(IMAGES);
    expect(parsed.shards.map((s: { done: number }) => s.done)).toEqual(written);

    // merge and export of the prefix give what they give of the local folder.
    const dest = tempDir();
    const fromS3 = await runCli(['merge', 's3://data/masks-shards', '--coco', path.join(dest, 's3.json')], { env: s3Env(s3.endpoint) });
    const fromDisk = await runCli(['merge', localOut, '--coco', path.join(dest, 'local.json')]);
    expect(fromS3.code, fromS3.stderr).toBe(0);
    expect(fromDisk.code, fromDisk.stderr).toBe(0);
    const coco = (f: string) => {
      const { info: _info, ...rest } = JSON.parse(readFileSync(path.join(dest, f), 'utf8'));
      return rest;
    };
    expect(coco('s3.json').annotations.length).toBeGreaterThan(0);
    expect(coco('s3.json')).toEqual(coco('local.json'));
    const yoloS3 = await runCli(['export', 's3://data/masks-shards', '--format', 'yolo', '--to', path.join(dest, 'yolo-s3', 'labels')], { env: s3Env(s3.endpoint) });
    const yoloDisk = await runCli(['export', localOut, '--format', 'yolo', '--to', path.join(dest, 'yolo-local', 'labels')]);
    expect(yoloS3.code, yoloS3.stderr).toBe(0);
    expect(yoloDisk.code, yoloDisk.stderr).toBe(0);
    const labels = (dir: string) => new Map([...localFiles(path.join(dest, dir, 'labels'))].filter(([k]) => k.endsWith('.txt')).map(([k, v]) => [k, v.toString()]));
    expect(labels('yolo-s3').size).toBe(IMAGES);
    expect(labels('yolo-s3')).toEqual(labels('yolo-local'));
    // The review site of the prefix, its pictures read from the images' prefix.
    const report = await runCli(['report', 's3://data/masks-shards', '--to', path.join(dest, 'report'), '--images', 's3://data/images'], { env: s3Env(s3.endpoint) });
    expect(report.code, report.stderr).toBe(0);
    expect(report.stderr).toMatch(new RegExp(`^sam-amg: report of ${IMAGES} images and \\d+ masks in \\S+/index.html \\([\\d.]+ s\\)\\n$`));
    expect(readdirSync(path.join(dest, 'report', 'pictures')).length).toBeGreaterThanOrEqual(IMAGES);
  });

  it('searches a prefix like a folder: a single key works, outputs under it are no images, --list takes keys', async () => {
    const one = tempDir();
    const single = await runCli(['s3://data/images/a/scene-000.png', '--out', one, ...FAST], { env: s3Env(s3.endpoint) });
    expect(single.code, single.stderr).toBe(0);
    expect(readFileSync(path.join(one, 'scene-000.json')).equals(localFiles(localOut).get('a/scene-000.json')!)).toBe(false);
    expect(JSON.parse(readFileSync(path.join(one, 'scene-000.json'), 'utf8')).annotations)
      .toEqual(JSON.parse(localFiles(localOut).get('a/scene-000.json')!.toString()).annotations);

    // PNG masks inside the input prefix: the rerun must not take them for images.
    for (const run of [1, 2]) {
      const res = await runCli(['s3://data/images', '--out', 's3://data/images/masks-inside', '--format', 'png', ...FAST], { env: s3Env(s3.endpoint) });
      expect(res.code, res.stderr).toBe(0);
      expect(res.stderr).toContain(run === 1 ? `${IMAGES} images: ${IMAGES} written` : `${IMAGES} images: 0 written, ${IMAGES} already done`);
      if (run === 2) expect(res.stderr).toContain('not searched for images: 1 folder holding sam-amg outputs (s3://data/images/masks-inside)');
    }

    const list = path.join(tempDir(), 'keys.txt');
    writeFileSync(list, 's3://data/images/b/scene-010.png\n');
    const listed = tempDir();
    const res = await runCli(['--list', list, '--out', listed, ...FAST], { env: s3Env(s3.endpoint) });
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(readFileSync(path.join(listed, 'data/images/b/scene-010.json'), 'utf8')).image.file_name).toBe('data/images/b/scene-010.png');

    // The list itself in the bucket, as a job with no volume keeps it.
    await client.send(new PutObjectCommand({ Bucket: 'data', Key: 'lists/two.txt', Body: 's3://data/images/a/scene-001.png\ns3://data/images/a/scene-002.png\n' }));
    const fromBucket = tempDir();
    const res2 = await runCli(['--list', 's3://data/lists/two.txt', '--out', fromBucket, ...FAST], { env: s3Env(s3.endpoint) });
    expect(res2.code, res2.stderr).toBe(0);
    expect(res2.stderr).toContain('2 images: 2 written');
    const missing = await runCli(['--list', 's3://data/lists/none.txt', '--out', tempDir(), ...FAST], { env: s3Env(s3.endpoint) });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('sam-amg: --list s3://data/lists/none.txt: cannot read the list (no such object)\n');
  });

  it('loads the AWS SDK for an s3:// run only: a local run never reads it', async () => {
    // The CLI in a process of its own that, once its run is done, says whether any SDK module was loaded.
    // (Not spawnSync: the S3 server answers from this process.)
    const probe = (args: string[]) => new Promise<{ stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', `
      import { createRequire } from 'node:module';
      const { main } = await import(${JSON.stringify(path.join(ROOT, 'dist/src/cli/main.js'))});
      const code = await main(${JSON.stringify(args)});
      const loaded = Object.keys(createRequire(import.meta.url).cache).some((f) => f.includes('@aws-sdk'));
      process.stdout.write(JSON.stringify({ code, loaded }));`], { env: s3Env(s3.endpoint) });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', () => resolve({ stdout, stderr }));
    });
    // A folder of the scenes, its two under b/: the check is what is loaded, not how many images are written.
    const folder = path.join(local, 'b');
    const localRun = await probe([folder, '--out', tempDir(), ...FAST, '--quiet']);
    expect(JSON.parse(localRun.stdout), localRun.stderr).toEqual({ code: 0, loaded: false });
    const s3Run = await probe([folder, '--out', 's3://data/masks-probe', ...FAST, '--quiet']);
    expect(JSON.parse(s3Run.stdout), s3Run.stderr).toEqual({ code: 0, loaded: true });
  });

  it('a key the store does not know, a missing bucket, no credentials, an unreachable endpoint: one line, exit 2, before any image', async () => {
    const cases: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
      [['s3://data/images', '--out', 's3://data/refused'], s3Env(s3.endpoint, { AWS_ACCESS_KEY_ID: 'WRONG' }),
        /^sam-amg: --out s3:\/\/data\/refused: the store does not know this access key \(AWS_ACCESS_KEY_ID\)\n$/],
      [['s3://data/images', '--out', tempDir()], s3Env(s3.endpoint, { AWS_ACCESS_KEY_ID: 'WRONG' }),
        /^sam-amg: s3:\/\/data\/images: the store does not know this access key \(AWS_ACCESS_KEY_ID\)\n$/],
      [['s3://data/images', '--out', 's3://nobucket/masks'], s3Env(s3.endpoint),
        /^sam-amg: --out s3:\/\/nobucket\/masks: no such bucket nobucket\n$/],
      [['s3://nobucket/images', '--out', tempDir()], s3Env(s3.endpoint), /^sam-amg: s3:\/\/nobucket\/images: no such bucket nobucket\n$/],
      [['s3://data/no-such-prefix', '--out', tempDir()], s3Env(s3.endpoint), /^sam-amg: s3:\/\/data\/no-such-prefix: no such object, and no objects under it\n$/],
      // No keys anywhere the SDK looks: not in the environment, no profile files, no instance metadata.
      [['s3://data/images', '--out', 's3://data/nocreds'], s3Env(s3.endpoint, { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', HOME: tempDir() }),
        /^sam-amg: --out s3:\/\/data\/nocreds: no AWS credentials found \(looked at AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE .*\)\n$/],
      [['s3://data/images', '--out', 's3://data/unreachable'], s3Env('http://127.0.0.1:1'),
        /^sam-amg: --out s3:\/\/data\/unreachable: cannot reach the store at http:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)\n$/],
    ];
    for (const [args, env, message] of cases) {
      const res = await runCli([...args, ...FAST, '--json'], { env });
      expect(res.code, `${args.join(' ')}: ${res.stderr}`).toBe(2);
      expect(res.stderr).toMatch(message);
      // Stopped before the run's start event: no image was read.
      expect(res.stdout).toBe('');
    }
    const left = await client.send(new ListObjectsV2Command({ Bucket: 'data', Prefix: 'refused/' }));
    expect(left.KeyCount ?? 0).toBe(0);
  });

  it('a wrong secret key: the store refuses the signature, exit 2 naming AWS_SECRET_ACCESS_KEY', async () => {
    // What S3 answers to a request signed with the wrong secret.
    const refusing: Server = createServer((req, res) => {
      req.resume();
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message></Error>');
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = `http://127.0.0.1:${(refusing.address() as AddressInfo).port}`;
      const res = await runCli(['s3://data/images', '--out', 's3://data/masks-bad-secret', ...FAST], { env: s3Env(endpoint, { AWS_SECRET_ACCESS_KEY: 'wrong' }) });
      expect(res.code).toBe(2);
      expect(res.stderr).toBe('sam-amg: --out s3://data/masks-bad-secret: the store refused the request signature: wrong secret key (AWS_SECRET_ACCESS_KEY)\n');
    } finally {
      await new Promise((resolve) => refusing.close(resolve));
    }
  });

  it('a store that goes away mid-run stops the run with one line and exit 3; the rerun completes it', async () => {
    const own = await startS3(['gone']);
    let done = 0;
    let stopping: Promise<void> | undefined;
    const env = s3Env(own.endpoint, { AWS_MAX_ATTEMPTS: '2' });
    const run = spawnCli([local, '--out', 's3://gone/masks', ...FAST, '--json'], (line) => {
      if (JSON.parse(line).event === 'image_done' && ++done === 3) stopping ??= own.server.close();
    }, env);
    const stopped = await run.done;
    await stopping;
    expect(stopped.code, stopped.stderr).toBe(3);
    expect(stopped.stderr).toMatch(/^sam-amg: --out s3:\/\/gone\/masks: cannot reach the store at http:\/\/127\.0\.0\.1:\d+ \((ECONNREFUSED|ECONNRESET|EPIPE)\) \(writing s3:\/\/gone\/masks\/\S+\); \d+ images written, rerun to resume\n$/);
    // The same store back, with what it had kept: the rerun writes the rest.
    const back = await startS3(['gone'], own.directory, own.port);
    try {
      const rerun = await runCli([local, '--out', 's3://gone/masks', ...FAST], { env });
      expect(rerun.code, rerun.stderr).toBe(0);
      expect(rerun.stderr).toMatch(new RegExp(`${IMAGES} images: \\d+ written, [1-9]\\d* already done, 0 failed`));
    } finally {
      await back.server.close();
    }
  });
});

describe('S3 listings of more than one page', () => {
  it('finds every image under a prefix of over 1000 keys (the store answers in pages of 1000)', async () => {
    // s3rver's continuation tokens use DES, which Node's OpenSSL 3 has only in its legacy provider: a server process of its own.
    const serverProcess = spawn(process.execPath, ['--openssl-legacy-provider', '--input-type=module', '-e', `
      const { startS3rver } = await import(${JSON.stringify(path.join(ROOT, 'test/s3rver.mjs'))});
      const { port } = await startS3rver({ directory: ${JSON.stringify(tempDir('sam-amg-s3rver-'))}, buckets: ['paged'] });
      process.stdout.write(port + '\\n');`], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        serverProcess.stdout.once('data', (d) => resolve(Number(String(d).trim())));
        serverProcess.once('exit', (code) => reject(new Error(`the S3 server exited (${code})`)));
      });
      const endpoint = `http://127.0.0.1:${port}`;
      const paged = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId: KEY, secretAccessKey: KEY } });
      const images = tempDir();
      const names = await writeScenes(images, 2);
      const keys = Array.from({ length: 1005 }, (_, i) => `many/notes-${String(i).padStart(4, '0')}.txt`);
      for (let i = 0; i < keys.length; i += 25) {
        await Promise.all(keys.slice(i, i + 25).map((Key) => paged.send(new PutObjectCommand({ Bucket: 'paged', Key, Body: 'x' }))));
      }
      // Keys after every note, so on the second page.
      for (const name of names) {
        await paged.send(new PutObjectCommand({ Bucket: 'paged', Key: `many/zz/${path.basename(name)}`, Body: readFileSync(path.join(images, name)) }));
      }
      paged.destroy();
      const res = await runCli(['s3://paged/many', '--out', tempDir(), ...FAST], { env: s3Env(endpoint) });
      expect(res.code, res.stderr).toBe(0);
      expect(res.stderr).toContain('2 images: 2 written, 0 already done, 0 failed, 1005 non-image files skipped');
    } finally {
      serverProcess.kill('SIGKILL');
    }
  });
});
