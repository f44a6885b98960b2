/**
 * A hostile corpus: names from data (image files, S3 keys, --list lines,
 * file_name read back from outputs) and destinations that hold a user's
 * things. Every case runs the real CLI inside a sandbox folder and checks
 * that the sandbox is byte for byte as it was, but for the outputs the
 * command may write; the exit code; one line per refusal; no stack trace.
 */
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectLines, expectTreeKept, PHOTOS, runCli, snapshotTree, spawnCli, tempDir, testEnv, TINY, writeScenes } from '../helpers.js';
import { seedObject, startS3rver } from '../s3rver.mjs';

const FAST = ['--model', TINY, '--points-per-side', '4'];
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A user's project around the destination: what no command may touch. */
function sandbox(): string {
  const root = tempDir('sam-amg-hostile-');
  mkdirSync(path.join(root, 'src/lib'), { recursive: true });
  writeFileSync(path.join(root, 'src/lib/main.ts'), 'export const answer = 42;\n');
  writeFileSync(path.join(root, 'README.md'), '# my project\n');
  writeFileSync(path.join(root, 'package.json'), '{"name": "mine"}\n');
  mkdirSync(path.join(root, 'victim'));
  writeFileSync(path.join(root, 'victim/keep.txt'), 'mine\n');
  copyFileSync(path.join(PHOTOS, 'meadow.jpg'), path.join(root, 'outside.jpg'));
  return root;
}

async function scene(file: string, index = 0): Promise<void> {
  const dir = tempDir();
  const [name] = (await writeScenes(dir, index + 1)).slice(index);
  mkdirSync(path.dirname(file), { recursive: true });
  copyFileSync(path.join(dir, name), file);
}

describe('the run places every name from data inside --out and replaces only what it wrote', () => {
  it('a PNG folder named after an image never replaces a user folder, nor a folder holding another output', async () => {
    const root = sandbox();
    await scene(path.join(root, 'imgs/src.png'));
    await scene(path.join(root, 'imgs/good.png'), 1);
    await scene(path.join(root, 'imgs/nest/a.png'), 2);
    await scene(path.join(root, 'imgs/nest/a/b.png'), 3);
    const before = snapshotTree(root);
    // As the issue ran it: --out . in the user's project.
    const res = await runCli(['imgs', '--out', '.', '--format', 'png', ...FAST], { cwd: root });
    expect(res.code).toBe(1);
    expectLines(res.stderr,
      /^sam-amg: imgs\/src\.png: src holds lib, which sam-amg did not write; the folder is left alone/,
      /^sam-amg: imgs\/nest\/a\.png: output nest\/a would hold the output of imgs\/nest\/a\/b\.png; rename one of them$/,
      /2 written, 0 already done, 2 failed/);
    expectTreeKept(before, snapshotTree(root), ['.sam-amg-run.json', 'failures.jsonl', 'good', 'nest']);
    const masks = JSON.parse(readFileSync(path.join(root, 'nest/a/b/.sam-amg.json'), 'utf8')).annotations.length;
    expect(masks).toBeGreaterThan(0);
    expect(readdirSync(path.join(root, 'nest/a/b')).sort()).toEqual(['.sam-amg.json', ...Array.from({ length: masks }, (_, i) => `${i}.png`).sort(), 'metadata.csv']);
    expect(readdirSync(path.join(root, 'nest/a'))).toEqual(['b']);
    // The rerun, too: nothing of the user's goes.
    const again = await runCli(['imgs', '--out', '.', '--format', 'png', ...FAST], { cwd: root });
    expect(again.code).toBe(1);
    expectTreeKept(before, snapshotTree(root), ['.sam-amg-run.json', 'failures.jsonl', 'good', 'nest']);
  });

  it('a JSON output never replaces a file sam-amg did not write', async () => {
    const root = sandbox();
    await scene(path.join(root, 'imgs/package.png'));
    await scene(path.join(root, 'imgs/ok.png'), 1);
    const before = snapshotTree(root);
    const res = await runCli(['imgs', '--out', '.', ...FAST], { cwd: root });
    expect(res.code).toBe(1);
    expectLines(res.stderr, /^sam-amg: imgs\/package\.png: package\.json exists and is not an output of sam-amg; it is left alone/);
    expectTreeKept(before, snapshotTree(root), ['.sam-amg-run.json', 'failures.jsonl', 'ok.json']);
  });

  it('names of up to 251 bytes are written (their temporary names are cut to fit)', async () => {
    const root = sandbox();
    const stem = 'n'.repeat(245);
    await scene(path.join(root, `imgs/${stem}.png`));
    const before = snapshotTree(root);
    const res = await runCli([path.join(root, 'imgs'), '--out', path.join(root, 'out'), ...FAST]);
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(readFileSync(path.join(root, 'out', `${stem}.json`), 'utf8')).image.file_name).toBe(`${stem}.png`);
    expectTreeKept(before, snapshotTree(root), ['out']);
  });

  it('a run over part of the inputs keeps the failures of the rest; a run that settles them clears them', async () => {
    const root = sandbox();
    await scene(path.join(root, 'imgs/a.png'));
    writeFileSync(path.join(root, 'imgs/broken.png'), 'not a png');
    const out = path.join(root, 'out');
    expect((await runCli([path.join(root, 'imgs'), '--out', out, ...FAST])).code).toBe(1);
    const listed = () => readFileSync(path.join(out, 'failures.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).path);
    expect(listed()).toEqual([path.join(root, 'imgs/broken.png')]);
    // Only a.png this time: broken.png's failure stays on record.
    expect((await runCli([path.join(root, 'imgs/a.png'), '--out', out, ...FAST])).code).toBe(0);
    expect(listed()).toEqual([path.join(root, 'imgs/broken.png')]);
    await scene(path.join(root, 'imgs/broken.png'), 1);
    expect((await runCli([path.join(root, 'imgs'), '--out', out, ...FAST])).code).toBe(0);
    expect(existsSync(path.join(out, 'failures.jsonl'))).toBe(false);
  });

  it('a failures file that sam-amg did not write refuses the run before any image', async () => {
    const root = sandbox();
    await scene(path.join(root, 'imgs/a.png'));
    writeFileSync(path.join(root, 'failures.jsonl'), 'my notes\n');
    const before = snapshotTree(root);
    const res = await runCli(['imgs', '--out', '.', ...FAST], { cwd: root });
    expect(res.code).toBe(2);
    expectLines(res.stderr, /^sam-amg: --out \.: failures\.jsonl is not a list of sam-amg failures and would be replaced; move it, or choose another --out$/);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expectTreeKept(before, snapshotTree(root));
  });

  it('the library refuses a URL out at its boundary (no folder named http: appears)', async () => {
    const { runDataset } = await import('../../src/index.js');
    const cwd = process.cwd();
    const root = sandbox();
    process.chdir(root);
    try {
      await expect(runDataset({ inputs: ['imgs'], out: 'http://127.0.0.1:1/masks' }))
        .rejects.toThrow('out http://127.0.0.1:1/masks: outputs go to a folder or an s3://bucket/prefix, not to an HTTP(S) URL');
    } finally {
      process.chdir(cwd);
    }
    expect(existsSync(path.join(root, 'http:'))).toBe(false);
  });
});

describe('one writer per output folder', () => {
  it('a run with other settings is refused while the first runs, even with --overwrite; the first finishes alone', async () => {
    const root = sandbox();
    const images = path.join(root, 'imgs');
    // 12 images: after the first is done, the first run writes for seconds more; the second is refused in its first half second.
    await writeScenes(images, 12);
    const out = path.join(root, 'out');
    let second: Promise<Awaited<ReturnType<typeof runCli>>> | undefined;
    const first = spawnCli([images, '--out', out, '--model', TINY, '--points-per-side', '8', '--json'], (line) => {
      if (!second && JSON.parse(line).event === 'image_done') second = runCli([images, '--out', out, ...FAST, '--overwrite']);
    });
    const done = await first.done;
    expect(done.code, done.stderr).toBe(0);
    const refused = await second!;
    expect(refused.code).toBe(2);
    expectLines(refused.stderr, new RegExp(`^sam-amg: ${escape(out)} is being written by another run with other settings or another model `
      + `\\(${escape(hostname())} pid \\d+, since [0-9T:.-]+Z\\); wait for it to finish, or choose another --out$`));
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    const manifest = JSON.parse(readFileSync(path.join(out, '.sam-amg-run.json'), 'utf8'));
    const outputs = readdirSync(out, { recursive: true }).map(String).filter((f) => f.endsWith('.json') && !f.startsWith('.'));
    expect(outputs).toHaveLength(12);
    for (const f of outputs) expect(JSON.parse(readFileSync(path.join(out, f), 'utf8')).info.fingerprint).toBe(manifest.fingerprint);
    // Nothing of either run's lock is left.
    expect(readdirSync(out).filter((n) => n.startsWith('.sam-amg-lock.'))).toEqual([]);
  });

  it('a lock of a dead process here, or one not refreshed for 10 minutes, is stale; a live one elsewhere refuses', async () => {
    const root = sandbox();
    await scene(path.join(root, 'imgs/a.png'));
    const out = path.join(root, 'out');
    mkdirSync(out);
    const lock = (name: string, host: string, pid: number, seen: Date) => writeFileSync(path.join(out, name),
      JSON.stringify({ tool: 'sam-amg', fingerprint: 'f'.repeat(64), format: 'json', host, pid, started: seen.toISOString(), seen: seen.toISOString() }));
    lock(`.sam-amg-lock.${hostname()}.999999.00000000`, hostname(), 999999, new Date());
    lock('.sam-amg-lock.elsewhere.12.00000001', 'elsewhere', 12, new Date(Date.now() - 11 * 60_000));
    writeFileSync(path.join(out, '.sam-amg-lock.not-ours'), 'a user file that happens to be named so');
    const ran = await runCli([path.join(root, 'imgs'), '--out', out, ...FAST]);
    expect(ran.code, ran.stderr).toBe(0);
    expect(readdirSync(out).filter((n) => n.startsWith('.sam-amg-lock.'))).toEqual(['.sam-amg-lock.not-ours']);
    lock('.sam-amg-lock.elsewhere.12.00000002', 'elsewhere', 12, new Date());
    const refused = await runCli([path.join(root, 'imgs'), '--out', out, ...FAST]);
    expect(refused.code).toBe(2);
    expectLines(refused.stderr, /^sam-amg: .* is being written by another run with other settings or another model \(elsewhere pid 12, since /);
  });
});

describe('names from S3 keys and --list lines', () => {
  let directory: string;
  let endpoint: string;
  let server: { close(): Promise<void> };
  let client: S3Client;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    directory = tempDir('sam-amg-s3rver-');
    const started = await startS3rver({ directory, buckets: ['data'] });
    server = started.server;
    endpoint = `http://127.0.0.1:${started.port}`;
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
    client = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    env = testEnv({ AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1' });
  }, 60_000);

  afterAll(async () => {
    await server?.close();
  });

  const keys = async () => (await client.send(new ListObjectsV2Command({ Bucket: 'data' }))).Contents?.map((o) => o.Key!).sort() ?? [];

  it('keys that climb out of the prefix fail their image in one line, into a folder and into a bucket; the rest is written', async () => {
    const root = sandbox();
    const png = readFileSync(path.join(PHOTOS, 'meadow.jpg'));
    const out = path.join(root, 'work/out');
    // From work/out, six levels up is above the sandbox; two levels up is the user's victim folder beside work/.
    await seedObject(directory, 'data', `images/../../../../../../${path.relative('/', root)}/S3ESC/evil.jpg`, png);
    await seedObject(directory, 'data', 'images/../../victim.jpg', png);
    await seedObject(directory, 'data', 'images/ok.jpg', png);
    const before = snapshotTree(root);
    for (const format of ['json', 'png']) {
      const res = await runCli(['s3://data/images', '--out', out, '--format', format, ...FAST, ...(format === 'png' ? ['--overwrite'] : [])], { env });
      expect(res.code, res.stderr).toBe(1);
      expectLines(res.stderr,
        /^sam-amg: s3:\/\/data\/images\/\.\.\/\.\.\/\.\.\/.*\/S3ESC\/evil\.jpg: name ".*" climbs out of its folder with \.\., so it has no place in /,
        /^sam-amg: s3:\/\/data\/images\/\.\.\/\.\.\/victim\.jpg: name "\.\.\/\.\.\/victim\.jpg" climbs out of its folder with \.\., so it has no place in /);
      expectTreeKept(before, snapshotTree(root), ['work']);
      expect(readdirSync(path.join(root, 'work'))).toEqual(['out']);
    }
    const inBucket = await keys();
    const res = await runCli(['s3://data/images', '--out', 's3://data/masks', ...FAST], { env });
    expect(res.code, res.stderr).toBe(1);
    const added = (await keys()).filter((k) => !inBucket.includes(k));
    expect(added.sort()).toEqual(['masks/.sam-amg-run.json', 'masks/failures.jsonl', 'masks/ok.json']);
    for (const k of added) await client.send(new DeleteObjectCommand({ Bucket: 'data', Key: k }));
  });

  it('a --list line whose key climbs out fails in one line; the list goes on', async () => {
    const root = sandbox();
    await seedObject(directory, 'data', '../../x.jpg', readFileSync(path.join(PHOTOS, 'meadow.jpg')));
    await client.send(new PutObjectCommand({ Bucket: 'data', Key: 'listed/ok.jpg', Body: readFileSync(path.join(PHOTOS, 'shelf.jpg')) }));
    writeFileSync(path.join(root, 'list.txt'), 's3://data/../../x.jpg\ns3://data/listed/ok.jpg\n');
    const out = path.join(root, 'a/b/out');
    const before = snapshotTree(root);
    const res = await runCli(['--list', path.join(root, 'list.txt'), '--out', out, ...FAST], { env });
    expect(res.code, res.stderr).toBe(1);
    expectLines(res.stderr, /^sam-amg: s3:\/\/data\/\.\.\/\.\.\/x\.jpg: name "data\/\.\.\/\.\.\/x\.jpg" climbs out of its folder with \.\., so it has no place in /);
    expectTreeKept(before, snapshotTree(root), ['a']);
    expect(readdirSync(path.join(root, 'a'))).toEqual(['b']);
    expect(readdirSync(out).sort()).toEqual(['.sam-amg-run.json', 'data', 'failures.jsonl']);
    expect(JSON.parse(readFileSync(path.join(out, 'data/listed/ok.json'), 'utf8')).image.file_name).toBe('data/listed/ok.jpg');
  });

  it('a run with other settings is refused while a live lock holds the prefix (one writer in a bucket too)', async () => {
    const root = sandbox();
    await scene(path.join(root, 'imgs/a.png'));
    const lock = { tool: 'sam-amg', fingerprint: 'f'.repeat(64), format: 'json', host: 'elsewhere', pid: 7, started: new Date().toISOString(), seen: new Date().toISOString() };
    await client.send(new PutObjectCommand({ Bucket: 'data', Key: 'locked/.sam-amg-lock.elsewhere.7.00000000', Body: JSON.stringify(lock) }));
    const res = await runCli([path.join(root, 'imgs'), '--out', 's3://data/locked', ...FAST], { env });
    expect(res.code).toBe(2);
    expectLines(res.stderr, /^sam-amg: s3:\/\/data\/locked is being written by another run with other settings or another model \(elsewhere pid 7, since /);
    expect((await keys()).filter((k) => k.startsWith('locked/'))).toEqual(['locked/.sam-amg-lock.elsewhere.7.00000000']);
    // Not refreshed for 11 minutes: stale, removed, and the run goes ahead.
    await client.send(new PutObjectCommand({ Bucket: 'data', Key: 'locked/.sam-amg-lock.elsewhere.7.00000000',
      Body: JSON.stringify({ ...lock, seen: new Date(Date.now() - 11 * 60_000).toISOString() }) }));
    const ran = await runCli([path.join(root, 'imgs'), '--out', 's3://data/locked', ...FAST], { env });
    expect(ran.code, ran.stderr).toBe(0);
    expect((await keys()).filter((k) => k.startsWith('locked/'))).toEqual(['locked/.sam-amg-run.json', 'locked/a.json']);
    const manifest = await client.send(new GetObjectCommand({ Bucket: 'data', Key: 'locked/.sam-amg-run.json' }));
    expect(JSON.parse(await manifest.Body!.transformToString()).format).toBe('json');
  });
});

describe('readers and exporters keep file_name read back inside their destination', () => {
  let out: string;
  let images: string;
  let root: string;

  beforeAll(async () => {
    root = sandbox();
    images = path.join(root, 'data/images');
    await writeScenes(images, 2);
    out = path.join(root, 'data/masks');
    const res = await runCli([images, '--out', out, ...FAST]);
    expect(res.code, res.stderr).toBe(0);
    // An output whose file_name climbs to the sandbox's top, where outside.jpg is.
    const good = JSON.parse(readFileSync(path.join(out, 'a/scene-000.json'), 'utf8'));
    const climbing = { ...good, image: { ...good.image, file_name: '../../../outside.jpg' } };
    writeFileSync(path.join(out, 'a/climbing.json'), JSON.stringify(climbing));
  }, 120_000);

  const cases: [string, (dest: string) => string[], string][] = [
    ['export yolo', (dest) => ['export', out, '--format', 'yolo', '--to', path.join(dest, 'labels')], 'dest'],
    ['export labelmap', (dest) => ['export', out, '--format', 'labelmap', '--to', path.join(dest, 'maps')], 'dest'],
    ['export labelstudio', (dest) => ['export', out, '--format', 'labelstudio', '--to', path.join(dest, 'ls')], 'dest'],
    ['merge', (dest) => ['merge', out, '--coco', path.join(dest, 'coco.json')], 'dest'],
    ['inspect --viz', (dest) => ['inspect', out, '--viz', path.join(dest, 'viz'), '--images', images], 'dest'],
    ['report --images', (dest) => ['report', out, '--images', images, '--to', path.join(dest, 'report')], 'dest'],
    ['status', () => ['status', out], ''],
  ];
  for (const [name, args, allowed] of cases) {
    it(`${name}: the file is named and skipped (exit 1); nothing outside the destination changes`, async () => {
      const dest = path.join(root, 'dest');
      const before = snapshotTree(root);
      const res = await runCli(args(dest));
      expect(res.code, res.stderr).toBe(1);
      const where = name === 'status' ? res.stdout : res.stderr;
      expectLines(where, new RegExp(`${escape(path.join(out, 'a/climbing.json'))}: image\\.file_name: `));
      expectTreeKept(before, snapshotTree(root), allowed ? [allowed] : []);
      if (name === 'report --images') {
        // The report holds the two scenes' pictures, not the sandbox's photo.
        expect(readdirSync(path.join(dest, 'report/pictures')).length).toBe(2);
      }
    });
  }
});

describe('destinations: nothing of the user is replaced', () => {
  let out: string;
  let images: string;

  beforeAll(async () => {
    images = tempDir();
    await writeScenes(images, 2);
    out = tempDir();
    expect((await runCli([images, '--out', out, ...FAST])).code).toBe(0);
  }, 120_000);

  it('a YOLO export holding images of the user (the old recipe) is not replaced', async () => {
    const root = sandbox();
    const labels = path.join(root, 'ds/labels');
    expect((await runCli(['export', out, '--format', 'yolo', '--to', labels])).code).toBe(0);
    expect(readdirSync(labels).sort()).toEqual(['.sam-amg-export.json', 'a', 'data.yaml']);
    cpSync(images, path.join(labels, 'images'), { recursive: true });
    symlinkSync(images, path.join(labels, 'linked'));
    const before = snapshotTree(root);
    const res = await runCli(['export', out, '--format', 'yolo', '--to', labels]);
    expect(res.code).toBe(2);
    expectLines(res.stderr, new RegExp(`^sam-amg: --to ${escape(labels)}: the export holds images/a/scene-000\\.png, which sam-amg did not write there; it would be replaced: move it, or choose another --to$`));
    expectTreeKept(before, snapshotTree(root));
  });

  it('merge and export --format coco replace only a COCO file sam-amg wrote', async () => {
    const root = sandbox();
    const own = path.join(root, 'coco.json');
    expect((await runCli(['merge', out, '--coco', own])).code).toBe(0);
    const before = snapshotTree(root);
    for (const [args, flag, target] of [
      [['merge', out, '--coco', path.join(root, 'README.md')], '--coco', path.join(root, 'README.md')],
      [['export', out, '--format', 'coco', '--to', path.join(root, 'package.json')], '--to', path.join(root, 'package.json')],
      [['export', out, '--format', 'coco', '--to', path.join(out, 'a/scene-000.json')], '--to', path.join(out, 'a/scene-000.json')],
    ] as const) {
      const outBefore = snapshotTree(out);
      const res = await runCli([...args]);
      expect(res.code).toBe(2);
      expectLines(res.stderr, new RegExp(`^sam-amg: ${flag} ${escape(target)}: the file exists and is not a COCO file sam-amg wrote; it would be replaced: move it, or choose another$`));
      expect(res.stderr.trim().split('\n')).toHaveLength(1);
      expectTreeKept(before, snapshotTree(root));
      expectTreeKept(outBefore, snapshotTree(out));
    }
    // Its own earlier merge is replaced.
    expect((await runCli(['merge', out, '--coco', own])).code).toBe(0);
  });

  it('inspect --viz never writes over a file it did not make, and never among the images', async () => {
    const root = sandbox();
    const viz = path.join(root, 'viz');
    mkdirSync(path.join(viz, 'a'), { recursive: true });
    copyFileSync(path.join(images, 'a/scene-000.png'), path.join(viz, 'a/scene-000.png'));
    const before = snapshotTree(root);
    const res = await runCli(['inspect', out, '--viz', viz, '--images', images]);
    expect(res.code).toBe(1);
    expectLines(res.stderr, new RegExp(`^sam-amg: ${escape(path.join(viz, 'a/scene-000.png'))} exists and is not an overlay sam-amg wrote; it is left alone$`));
    expectTreeKept(before, snapshotTree(root), ['viz/a/scene-001.png']);
    // Its own overlay is replaced by the next run.
    const again = await runCli(['inspect', out, '--viz', viz, '--images', images]);
    expect(again.code).toBe(1);
    expect(again.stderr).not.toMatch(/scene-001/);
    const imagesBefore = snapshotTree(images);
    for (const into of [images, path.join(images, 'a')]) {
      const refused = await runCli(['inspect', out, '--viz', into, '--images', images]);
      expect(refused.code).toBe(2);
      expectLines(refused.stderr, new RegExp(`^sam-amg: --viz ${escape(into)}: lies inside --images ${escape(images)}; write the overlays elsewhere$`));
    }
    expectTreeKept(imagesBefore, snapshotTree(images));
  });

  for (const command of ['export', 'report'] as const) {
    it(`SIGTERM stops ${command} as SIGINT does: exit 130, no destination, no temporaries`, async () => {
      // Copies of the outputs with their images, so the command is still writing when the signal comes.
      const many = tempDir();
      const pictures = tempDir();
      for (let i = 0; i < 60; i++) {
        const copy = `copy-${String(i).padStart(2, '0')}`;
        for (const f of readdirSync(out, { recursive: true }).map(String).filter((n) => n.endsWith('.json') && !n.startsWith('.'))) {
          const data = JSON.parse(readFileSync(path.join(out, f), 'utf8'));
          data.image.file_name = `${copy}/${data.image.file_name}`;
          mkdirSync(path.dirname(path.join(many, copy, f)), { recursive: true });
          writeFileSync(path.join(many, copy, f), JSON.stringify(data));
        }
        cpSync(images, path.join(pictures, copy), { recursive: true });
      }
      const parent = tempDir();
      const to = path.join(parent, 'dest');
      const args = command === 'export' ? ['export', many, '--format', 'labelmap', '--to', to] : ['report', many, '--images', pictures, '--to', to];
      const { child, done } = spawnCli(args, () => {});
      const started = Date.now();
      while (!readdirSync(parent).some((n) => n.endsWith('.tmp'))) {
        expect(Date.now() - started).toBeLessThan(60_000);
        await new Promise((r) => setTimeout(r, 10));
      }
      child.kill('SIGTERM');
      const ended = await done;
      expect(ended.code, ended.stderr).toBe(130);
      expectLines(ended.stderr, /^sam-amg: SIGTERM: stopping \(send it again to stop at once\)$/);
      expect(readdirSync(parent)).toEqual([]);
    });
  }

  it('--reject takes a file with a byte order mark, and names the file names it lists that are not in the folder', async () => {
    const reject = path.join(tempDir(), 'rejections.json');
    writeFileSync(reject, `\uFEFF${JSON.stringify({ 'a/scene-000.png': [1], 'gone.png': [2], 'other/x.jpg': [1] })}`);
    const res = await runCli(['export', out, '--format', 'coco', '--to', path.join(tempDir(), 'coco.json'), '--reject', reject]);
    expect(res.code, res.stderr).toBe(0);
    expectLines(res.stderr, new RegExp(`^sam-amg: --reject names 2 files not in ${escape(out)}, whose rejections were not applied: "gone\\.png", "other/x\\.jpg"$`),
      /^sam-amg: exported 2 images and \d+ masks as coco to .*; 1 mask filtered out$/);
  });
});
