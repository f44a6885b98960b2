import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runDataset, UsageError, type DatasetRunOptions, type RunEvent } from '../../src/index.js';
import { runCli, snapshotTree, tempDir, TINY, writeScenes } from '../helpers.js';

/** The settings as a user gives them, numbers and their text mixed, and the same as flags. */
const SETTINGS = { pointsPerSide: 8, predIouThresh: '0.5', stabilityScoreThresh: 0.6, boxNmsThresh: '0.6' };
const FLAGS = ['--points-per-side', '8', '--pred-iou-thresh', '0.5', '--stability-score-thresh', '0.6', '--box-nms-thresh', '0.6'];

describe('runDataset, the library front door', () => {
  let images: string;
  beforeAll(async () => {
    images = path.join(tempDir(), 'imgs');
    await writeScenes(images, 3);
  });

  it.each(['json', 'png'] as const)('writes, with format %s, every file byte for byte as the CLI does with the same arguments', async (format) => {
    const fromCli = tempDir();
    const res = await runCli([images, '--out', fromCli, '--model', TINY, '--format', format, ...FLAGS]);
    expect(res.code, res.stderr).toBe(0);

    const fromLibrary = tempDir();
    const events: RunEvent[] = [];
    const summary = await runDataset({
      inputs: [images], out: fromLibrary, model: TINY, format, ...SETTINGS, onEvent: (e) => events.push(e),
    });
    expect(summary).toMatchObject({ images: 3, written: 3, skipped: 0, failed: [], interrupted: false });
    expect(summary.masks).toBeGreaterThan(0);
    // image_progress events come while each image is generated; the rest, in order.
    expect(events.map((e) => e.event).filter((e) => e !== 'image_progress')).toEqual(['loading', 'start', 'image_done', 'image_done', 'image_done', 'summary']);

    // Every file, the run manifest (.sam-amg-run.json) included: it records the tool, version, fingerprint,
    // format, model digests and settings, and no time, host or path, so nothing needs leaving out.
    const cli = snapshotTree(fromCli);
    const library = snapshotTree(fromLibrary);
    expect([...cli.keys()]).toContain('.sam-amg-run.json');
    expect([...library.keys()].sort()).toEqual([...cli.keys()].sort());
    for (const [name, what] of cli) expect(library.get(name), name).toBe(what);
  });

  it('refuses a bad option in the one message shape, naming its key, before anything is written', async () => {
    const out = path.join(tempDir(), 'never');
    const cases: [Record<string, unknown>, string][] = [
      [{ pointsPerSide: 'abc' }, 'Expected integer in [1, 1024] for pointsPerSide but received abc of type string'],
      [{ predIouThresh: 1.5 }, 'Expected number in [0, 1] for predIouThresh but received 1.5 of type number'],
      [{ jobs: 0 }, 'Expected integer in [1, 256] for jobs but received 0 of type number'],
      [{ downloadLimit: 'big' }, 'Expected number in (0, 1048576] for downloadLimit but received big of type string'],
      [{ device: 'gpu' }, 'Expected one of cpu, cuda[:N], tensorrt[:N], webgpu, coreml, dml for device but received gpu of type string'],
      [{ shard: '5/5' }, 'Expected a shard i/n with 0 <= i < n for shard but received 5/5'],
      [{ format: 'tiff' }, 'Expected one of json, png for format but received tiff of type string'],
      [{ filterGraph: 'maybe' }, 'Expected one of on, off, true, false for filterGraph but received maybe of type string'],
      [{ preset: 'fastest' }, 'Expected one of default, dense, sa1b, fast for preset but received fastest of type string'],
      [{ pointsPerSid: 8 }, 'Expected a known option ('],
      [{ inputs: [] }, 'no inputs: name image files, folders or patterns in inputs, or list files in lists'],
      [{ out: undefined }, 'Expected a folder or an s3://bucket/prefix for out but received undefined'],
    ];
    const refusal = (bad: Record<string, unknown>, at = out) =>
      runDataset({ inputs: [images], out: at, model: TINY, ...bad } as DatasetRunOptions).catch((e: unknown) => e as Error);
    for (const [bad, message] of cases) {
      const err = await refusal(bad);
      expect(err, message).toBeInstanceOf(UsageError);
      expect(err.message, message).toContain(message);
      expect(err.message).not.toMatch(/--[a-z]/);
    }
    expect(existsSync(out)).toBe(false);
    // The model is chosen once the output folder is known to take files, as the CLI does.
    const both = await refusal({ encoder: path.join(TINY, 'encoder.onnx') }, tempDir());
    expect(both).toEqual(new UsageError('use either model or encoder/decoder, not both'));
  });

  it('refuses an HTTP(S) out and creates nothing (no local folder named http:)', async () => {
    const root = tempDir();
    const cwd = process.cwd();
    process.chdir(root);
    try {
      await expect(runDataset({ inputs: [images], out: 'http://x/y', model: TINY }))
        .rejects.toThrow(new UsageError('out http://x/y: outputs go to a folder or an s3://bucket/prefix, not to an HTTP(S) URL'));
    } finally {
      process.chdir(cwd);
    }
    expect(readdirSync(root)).toEqual([]);
  });

  it('an aborted signal stops the run: images under way finish, no new one starts, and the summary says interrupted', async () => {
    const many = path.join(tempDir(), 'imgs');
    await writeScenes(many, 6);
    const out = tempDir();
    const controller = new AbortController();
    const events: RunEvent[] = [];
    const summary = await runDataset({
      inputs: [many], out, model: TINY, pointsPerSide: 8, jobs: 1, signal: controller.signal,
      onEvent: (e) => {
        events.push(e);
        if (e.event === 'image_done') controller.abort();
      },
    });
    expect(summary.interrupted).toBe(true);
    expect(summary.written).toBeGreaterThanOrEqual(1);
    expect(summary.written).toBeLessThan(6);
    expect(summary.failed).toEqual([]);
    expect(events.at(-1)).toMatchObject({ event: 'summary', interrupted: true });

    // Aborted before it starts: nothing is loaded or written, and the promise rejects with the signal's reason.
    const untouched = path.join(tempDir(), 'never');
    await expect(runDataset({ inputs: [many], out: untouched, model: TINY, signal: AbortSignal.abort() }))
      .rejects.toMatchObject({ name: 'AbortError' });
    expect(existsSync(untouched)).toBe(false);
  });
});
