import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import yazl from 'yazl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAMILIES } from '../../src/model/families.js';
import { loadRegistry } from '../../src/model/registry.js';
import { ROOT, runCli, tempDir, testEnv, writeScenes } from '../helpers.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const read = (rel: string) => readFileSync(path.join(ROOT, 'fixtures/models', rel));

function zipOf(files: Record<string, Buffer>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, data] of Object.entries(files)) zip.addBuffer(data, name, { mtime: new Date(0) });
  zip.end();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve(Buffer.concat(chunks)));
  });
}

/** A loopback file server in Hugging Face's URL layout, with Range support and a switch to cut a response. */
class ModelServer {
  readonly files = new Map<string, Buffer>();
  readonly requests: { url: string; range?: string }[] = [];
  readonly cutOnce = new Set<string>();
  private server = http.createServer((req, res) => {
    const url = decodeURIComponent(req.url ?? '');
    this.requests.push({ url, range: req.headers.range });
    const body = this.files.get(url);
    if (!body) {
      res.writeHead(404, 'Not Found').end();
      return;
    }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    const part = body.subarray(start);
    res.writeHead(m ? 206 : 200, { 'content-length': part.length, ...(m ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}) });
    if (this.cutOnce.delete(url)) {
      // Let the first half reach the client before the connection drops.
      res.write(part.subarray(0, part.length >> 1), () => setTimeout(() => res.socket?.destroy(), 100));
      return;
    }
    res.end(part);
  });
  base = '';

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

describe('the shipped registry', () => {
  it('names every required model with a supported family, mobilesam as default', () => {
    const r = loadRegistry();
    expect(r.default).toBe('mobilesam');
    for (const name of ['mobilesam', 'sam-vit-b', 'sam-vit-l', 'sam-vit-h', 'efficientsam-ti', 'edgesam', 'sam2.1-tiny']) {
      expect(r.models.has(name), name).toBe(true);
      expect(FAMILIES).toHaveProperty(r.models.get(name)!.family);
    }
    expect(r.models.get('edgesam')!.non_commercial).toBe(true);
    expect(r.models.get('mobilesam')!.files!.encoder.sha256).toBe('580f5fb648ea1062c0aabc26217aed56921985f03f0cbbd852bba81d760cc749');
  });
});

describe('models pull from a local server', () => {
  const server = new ModelServer();
  let registryFile: string;
  const hwc = { encoder: read('families/sam-hwc/encoder.onnx'), decoder: read('families/sam-hwc/decoder.onnx') };
  const edge = { encoder: read('families/edgesam/encoder.onnx'), decoder: read('families/edgesam/decoder.onnx') };
  const file = (repo: string, p: string, data: Buffer, sum: string | null = sha(data)) => {
    server.files.set(`/${repo}/resolve/r1/${p}`, data);
    return { repo, revision: 'r1', path: p, size: data.length, sha256: sum, sha256_source: 'test' };
  };
  let zipV1: Buffer;
  let zipV2: Buffer;

  beforeAll(async () => {
    await server.start();
    const sam2 = { encoder: read('families/sam2/encoder.onnx'), decoder: read('families/sam2/decoder.onnx') };
    zipV1 = await zipOf({ 'sam2.1_hiera_tiny/sam2.1_hiera_tiny.encoder.onnx': sam2.encoder, 'sam2.1_hiera_tiny/sam2.1_hiera_tiny.decoder.onnx': sam2.decoder, 'README.txt': Buffer.from('tiny') });
    zipV2 = await zipOf({ 'sam2.1_hiera_tiny.encoder.onnx': sam2.encoder, 'sam2.1_hiera_tiny.decoder.onnx': sam2.decoder, 'CHANGED.txt': Buffer.from('other') });
    const entry = (family: string, files: object, extra: object = {}) => ({
      description: 'test', family, input_size: 1024, licence: 'Apache-2.0', non_commercial: false, ...files, ...extra,
    });
    const registry = {
      default: 'mobilesam',
      models: {
        mobilesam: entry('sam', { files: { encoder: file('Acly/MobileSAM', 'mobile_sam_image_encoder.onnx', hwc.encoder), decoder: file('Acly/MobileSAM', 'sam_mask_decoder_multi.onnx', hwc.decoder, null) } }),
        edgesam: entry('edgesam', { files: { encoder: file('chongzhou/EdgeSAM', 'edge_sam_encoder.onnx', edge.encoder), decoder: file('chongzhou/EdgeSAM', 'edge_sam_decoder.onnx', edge.decoder) } },
          { licence: 'NTU S-Lab License 1.0 (non-commercial)', non_commercial: true }),
        'sam2.1-tiny': entry('sam2', { archive: { ...file('vietanhdev/sam2', 'sam2.1_hiera_tiny.zip', zipV1, null), size: null, encoder: 'encoder', decoder: 'decoder' } }),
        mismatch: entry('sam', { files: { encoder: file('x/bad', 'enc.onnx', hwc.encoder, '0'.repeat(64)), decoder: file('x/bad', 'dec.onnx', hwc.decoder) } }),
        resumable: entry('sam', { files: { encoder: file('x/big', 'enc.onnx', hwc.encoder), decoder: file('x/big', 'dec.onnx', hwc.decoder) } }),
        gone: entry('sam', { files: { encoder: { ...file('x/gone', 'enc.onnx', hwc.encoder), path: 'missing.onnx' }, decoder: file('x/gone', 'dec.onnx', hwc.decoder) } }),
      },
    };
    registryFile = path.join(tempDir(), 'registry.json');
    writeFileSync(registryFile, JSON.stringify(registry));
  });
  afterAll(() => server.stop());

  const env = (home = tempDir('sam-amg-home-')) => testEnv({ SAM_AMG_HOME: home, SAM_AMG_MODEL_BASE_URL: server.base, SAM_AMG_REGISTRY: registryFile });

  it('fetches, verifies and caches mobilesam; a run then needs no model flag', async () => {
    const e = env();
    const pulled = await runCli(['models', 'pull', 'mobilesam'], { env: e });
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(pulled.stderr).toContain(`sam-amg: downloading mobilesam (2 files, ${((hwc.encoder.length + hwc.decoder.length) / 1e3).toFixed(0)} kB) from ${server.base} into ${e.SAM_AMG_HOME}\n`);
    expect(pulled.stderr).toContain(`mobilesam verified and ready in ${path.join(e.SAM_AMG_HOME!, 'models/mobilesam')}`);
    expect((await runCli(['models', 'path', 'mobilesam'], { env: e })).stdout).toBe(`${path.join(e.SAM_AMG_HOME!, 'models/mobilesam')}\n`);
    expect((await runCli(['models', 'list'], { env: e })).stdout).toMatch(/mobilesam \(default\)\s+sam\s+.*\s+yes\n/);
    expect((await runCli(['models', 'verify'], { env: e })).stdout).toBe('mobilesam: ok\n');
    // The decoder has no published checksum: the first pull recorded it.
    const pins = JSON.parse(readFileSync(path.join(e.SAM_AMG_HOME!, 'pins.json'), 'utf8'));
    expect(pins).toEqual({ 'mobilesam/decoder': sha(hwc.decoder) });
    // Each file's checksum is kept with the size and time it was taken at, so runs need not hash it again.
    const modelDir = path.join(e.SAM_AMG_HOME!, 'models/mobilesam');
    const pulledJson = JSON.parse(readFileSync(path.join(modelDir, 'model.json'), 'utf8'));
    for (const [f, bytes] of [['encoder.onnx', hwc.encoder], ['decoder.onnx', hwc.decoder]] as const) {
      expect(pulledJson.files_sha256[f]).toBe(sha(bytes));
      expect(pulledJson.files_stat[f]).toEqual({ size: bytes.length, mtime_ms: statSync(path.join(modelDir, f)).mtimeMs });
    }

    const images = tempDir();
    await writeScenes(images, 2);
    const out = tempDir();
    const run = await runCli([images, '--out', out, '--points-per-side', '6'], { env: e });
    expect(run.code, run.stderr).toBe(0);
    const written = JSON.parse(readFileSync(path.join(out, 'a/scene-000.json'), 'utf8'));
    expect(written.info.model.encoder).toBe(sha(hwc.encoder));
    expect(written.annotations.length).toBeGreaterThan(0);

    writeFileSync(path.join(e.SAM_AMG_HOME!, 'models/mobilesam/decoder.onnx'), 'tampered');
    const verify = await runCli(['models', 'verify', 'mobilesam'], { env: e });
    expect(verify.code).toBe(1);
    expect(verify.stdout).toBe('mobilesam: FAILED\n');
    expect(verify.stderr).toMatch(/decoder\.onnx: sha256 [0-9a-f]{64}, expected /);
    const removed = await runCli(['models', 'rm', 'mobilesam'], { env: e });
    expect(removed.stderr).toBe('sam-amg: removed mobilesam\n');
    expect(existsSync(path.join(e.SAM_AMG_HOME!, 'models/mobilesam'))).toBe(false);
  });

  it('deletes a download whose checksum does not match and leaves nothing in the cache', async () => {
    const e = env();
    const res = await runCli(['models', 'pull', 'mismatch'], { env: e });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`sam-amg: checksum mismatch for ${server.base}/x/bad/resolve/r1/enc.onnx: expected sha256 ${'0'.repeat(64)}, got ${sha(hwc.encoder)}; the download was deleted\n`);
    expect(readdirSync(path.join(e.SAM_AMG_HOME!, 'models'))).toEqual([]);
    expect(readdirSync(path.join(e.SAM_AMG_HOME!, 'downloads'))).toEqual([]);
  });

  it('resumes a download cut in the middle with an HTTP Range request, in the same pull and from the part an earlier one left', async () => {
    const url = '/x/big/resolve/r1/enc.onnx';
    const ranges = (from: number) => server.requests.slice(from).filter((r) => r.url === url).map((r) => r.range);
    const e = env();
    server.cutOnce.add(url);
    const first = await runCli(['models', 'pull', 'resumable'], { env: e });
    expect(first.code, first.stderr).toBe(0);
    const [whole, resumed] = ranges(0);
    expect(whole).toBeUndefined();
    const partSize = Number(/^bytes=(\d+)-$/.exec(resumed ?? '')?.[1]);
    expect(partSize).toBeGreaterThan(0);
    expect(partSize).toBeLessThan(hwc.encoder.length);
    expect(ranges(0)).toHaveLength(2);
    expect(readFileSync(path.join(e.SAM_AMG_HOME!, 'models/resumable/encoder.onnx')).equals(hwc.encoder)).toBe(true);
    expect(readdirSync(path.join(e.SAM_AMG_HOME!, 'downloads'))).toEqual([]);

    // A pull killed mid-file leaves its part: the next one asks only for the rest.
    const again = env();
    const downloads = path.join(again.SAM_AMG_HOME!, 'downloads');
    mkdirSync(downloads, { recursive: true });
    writeFileSync(path.join(downloads, 'resumable.encoder.enc.onnx.part'), hwc.encoder.subarray(0, 1000));
    const from = server.requests.length;
    const second = await runCli(['models', 'pull', 'resumable'], { env: again });
    expect(second.code, second.stderr).toBe(0);
    expect(ranges(from)).toEqual(['bytes=1000-']);
    expect(readFileSync(path.join(again.SAM_AMG_HOME!, 'models/resumable/encoder.onnx')).equals(hwc.encoder)).toBe(true);
    expect(existsSync(path.join(downloads, 'resumable.encoder.enc.onnx.part'))).toBe(false);
  });

  it('reports a 404 with the URL', async () => {
    const res = await runCli(['models', 'pull', 'gone'], { env: env() });
    expect(res.code).toBe(2);
    expect(res.stderr).toBe(`sam-amg: ${server.base}/x/gone/resolve/r1/missing.onnx: HTTP 404 Not Found\n`);
  });

  it('unpacks a zip source, records its checksum on first pull and holds later pulls to it', async () => {
    const e = env();
    const res = await runCli(['models', 'pull', 'sam2.1-tiny'], { env: e });
    expect(res.code, res.stderr).toBe(0);
    const dir = path.join(e.SAM_AMG_HOME!, 'models/sam2.1-tiny');
    expect(readdirSync(dir).sort()).toEqual(['README.txt', 'model.json', 'sam2.1_hiera_tiny.decoder.onnx', 'sam2.1_hiera_tiny.encoder.onnx']);
    expect(JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'))).toMatchObject({ family: 'sam2', encoder: 'sam2.1_hiera_tiny.encoder.onnx', decoder: 'sam2.1_hiera_tiny.decoder.onnx' });
    const images = tempDir();
    await writeScenes(images, 1);
    const run = await runCli([images, '--out', tempDir(), '--model', 'sam2.1-tiny', '--points-per-side', '6', '--json'], { env: e });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('"image_done"');
    // The source changes under the same name: the recorded checksum catches it.
    server.files.set('/vietanhdev/sam2/resolve/r1/sam2.1_hiera_tiny.zip', zipV2);
    await runCli(['models', 'rm', 'sam2.1-tiny'], { env: e });
    const again = await runCli(['models', 'pull', 'sam2.1-tiny'], { env: e });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`expected sha256 ${sha(zipV1)}, got ${sha(zipV2)}; the download was deleted`);
    server.files.set('/vietanhdev/sam2/resolve/r1/sam2.1_hiera_tiny.zip', zipV1);
  });

  it('prints the licence of a non-commercial model when pulling it, and runs it by name', async () => {
    const e = env();
    const images = tempDir();
    await writeScenes(images, 1);
    const res = await runCli([images, '--out', tempDir(), '--model', 'edgesam', '--points-per-side', '6'], { env: e });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain('sam-amg: note: edgesam is licensed under NTU S-Lab License 1.0 (non-commercial): not for commercial use');
  });

  it('without network and with an empty cache prints one actionable line and exits 2', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const images = tempDir();
    await writeScenes(images, 1);
    const res = await runCli([images, '--out', tempDir()], { env: testEnv({ SAM_AMG_MODEL_BASE_URL: `http://127.0.0.1:${port}`, SAM_AMG_REGISTRY: registryFile }) });
    expect(res.code).toBe(2);
    expect(res.stderr.split('\n')).toHaveLength(2);
    expect(res.stderr).toMatch(/^sam-amg: no model: mobilesam \(no --model given, so the default\) is not cached in .* could not be downloaded: cannot reach .* \(ECONNREFUSED\); connect to the network, set SAM_AMG_MODEL_BASE_URL to a mirror, or pass --model DIR\n$/);
  });
});
