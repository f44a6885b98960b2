/**
 * Progress a person can watch (issue 29, point 3): a start line as soon as
 * the inputs are counted, before the model loads; while an image is in
 * flight and stderr is no terminal, a line every --progress-interval naming
 * the image, its stage and the prompts done; the same progress as
 * image_progress events in --json, and from the generator's onProgress.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateMaskData, type GenerateProgress } from '../../src/amg/generator.js';
import { decodeImage } from '../../src/image/decode.js';
import { SamOnnxModel } from '../../src/model/sam-onnx.js';
import { resolveSettings } from '../../src/settings/settings.js';
import { ROOT, tempDir, testEnv, TINY, writeScenes } from '../helpers.js';

/** Runs the CLI with stderr piped, noting when each stderr line arrived (seconds after the spawn). */
function timedRun(args: string[]): Promise<{ code: number | null; lines: { at: number; text: string }[]; stdout: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/sam-amg.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: testEnv() });
    const lines: { at: number; text: string }[] = [];
    let buffer = '';
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      buffer += d;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        lines.push({ at: (performance.now() - started) / 1000, text: buffer.slice(0, nl) });
        buffer = buffer.slice(nl + 1);
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 170_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, lines, stdout });
    });
  });
}

describe('progress lines when stderr is not a terminal', () => {
  it('start at once, then come every --progress-interval while an image is in flight, naming its stage and prompts', async () => {
    const images = tempDir();
    await writeScenes(images, 1);
    const interval = 0.5;
    // 32² prompts one at a time through the tiny decoder: an image that takes seconds.
    const res = await timedRun([images, '--out', path.join(tempDir(), 'masks'), '--model', TINY, '--points-per-side', '32', '--progress-interval', String(interval)]);
    expect(res.code, res.lines.map((l) => l.text).join('\n')).toBe(0);
    const [first] = res.lines;
    expect(first.text).toBe(`sam-amg: 1 image; loading model ${TINY}`);
    expect(first.at).toBeLessThan(2);
    const inFlight = res.lines.filter((l) => / prompts, \d+s$/.test(l.text));
    expect(inFlight.length).toBeGreaterThanOrEqual(3);
    for (const l of inFlight) {
      expect(l.text).toMatch(new RegExp(`^sam-amg: 0/1 image \\(0 failed, 0 already done\\), 0 masks, [\\d.]+ images/s, ETA \\S+; ${images}/a/scene-000\\.png: (encoding|decoding|post-processing), \\d+/1024 prompts, \\d+s$`));
    }
    const done = inFlight.map((l) => Number(/, (\d+)\/1024 prompts/.exec(l.text)![1]));
    expect(done).toEqual([...done].sort((a, b) => a - b));
    expect(inFlight.some((l) => l.text.includes(': decoding, '))).toBe(true);
    // From the first line about the image to the summary, no gap longer than the interval and some slack for a busy machine.
    const from = res.lines.indexOf(inFlight[0]);
    const watched = res.lines.slice(from);
    const gaps = watched.slice(1).map((l, k) => l.at - watched[k].at);
    expect(Math.max(...gaps), JSON.stringify(res.lines)).toBeLessThan(interval + 2);
    expect(res.lines.at(-1)!.text).toMatch(/^sam-amg: 1 image: 1 written, 0 already done, 0 failed; \d+ masks? from 1024 prompts in /);
  });

  it('--json: a loading event first, then image_progress events in snake_case, at most one per interval', async () => {
    const images = tempDir();
    await writeScenes(images, 2);
    const res = await timedRun([images, '--out', path.join(tempDir(), 'masks'), '--model', TINY, '--points-per-side', '8', '--progress-interval', '0', '--json']);
    expect(res.code).toBe(0);
    expect(res.lines).toEqual([]);
    const events = res.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(events[0]).toEqual({ event: 'loading', images: 2, skipped_non_images: 0, shard: null, model: TINY, out: expect.any(String), resuming: false });
    expect(events[1]).toMatchObject({ event: 'start', images: 2 });
    const progress = events.filter((e) => e.event === 'image_progress');
    expect(progress.length).toBeGreaterThan(2);
    for (const p of progress) {
      expect(Object.keys(p).sort()).toEqual(['crop', 'crops', 'event', 'path', 'prompts_done', 'prompts_total', 'stage']);
      expect(p).toMatchObject({ crop: 1, crops: 1, prompts_total: 64 });
    }
    expect(progress.filter((p) => p.stage === 'decode').length).toBe(2);
    expect(progress.filter((p) => p.stage === 'postprocess').every((p) => p.prompts_done === 64)).toBe(true);
    // A run into a folder that holds it already says `resuming`: the model's fingerprint is compared with it once loaded.
    const again = await timedRun([images, '--out', events[0].out, '--model', TINY, '--points-per-side', '8', '--json']);
    expect(JSON.parse(again.stdout.split('\n')[0])).toMatchObject({ event: 'loading', resuming: true });
    expect(again.stdout).not.toContain('image_progress');
  });
});

describe('the generator tells where it is', () => {
  it('encode per crop, decode per batch with prompts rising to the total, post-processing last; the same masks as without', async () => {
    const model = await SamOnnxModel.loadDir(TINY);
    try {
      const image = await decodeImage(path.join(ROOT, 'fixtures/demo/shapes.png'));
      const s = resolveSettings({ pointsPerSide: 8, pointsPerBatch: 16, cropNLayers: 1, cropNPointsDownscaleFactor: 2 });
      const seen: GenerateProgress[] = [];
      const counts = { prompts: 0 };
      const told = await generateMaskData(image, model, s, { onProgress: (p) => seen.push({ ...p }), counts });
      const total = 64 + 4 * 16;
      expect(counts.prompts).toBe(total);
      expect(seen.every((p) => p.promptsTotal === total && p.crops === 5)).toBe(true);
      expect(seen.filter((p) => p.stage === 'encode').map((p) => p.crop)).toEqual([1, 2, 3, 4, 5]);
      const decodes = seen.filter((p) => p.stage === 'decode');
      expect(decodes.map((p) => p.promptsDone)).toEqual([16, 32, 48, 64, 80, 96, 112, 128]);
      expect(seen.at(-1)).toEqual({ stage: 'postprocess', promptsDone: total, promptsTotal: total, crop: 5, crops: 5 });
      const quiet = await generateMaskData(image, model, s);
      expect(told.length).toBe(quiet.length);
    } finally {
      await model.release();
    }
  });
});
