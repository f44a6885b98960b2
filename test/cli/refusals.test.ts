/**
 * No trace of a run that never started (issue 29, point 4): a run refused
 * before its first image leaves no --out folder behind (nor the parents it
 * would have made), and says why in exactly one line.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDataset } from '../../src/runner/run.js';
import { writeFileAtomic } from '../../src/storage/atomic-write.js';
import { prepareOutputFolder } from '../../src/storage/out-folder.js';
import { ROOT, runCli, tempDir, TINY, writeScenes } from '../helpers.js';

const DEMO = path.join(ROOT, 'fixtures/demo');
const bin = path.join(ROOT, 'node_modules/onnxruntime-node/bin');
const cudaInstalled = readdirSync(bin).some((napi) => existsSync(path.join(bin, napi, 'linux/x64/libonnxruntime_providers_cuda.so')));

describe('a refused run leaves no --out folder and prints one line', () => {
  const empty = tempDir();
  const notImages = tempDir();
  writeFileSync(path.join(notImages, 'notes.txt'), 'no picture');
  const cases: [string, string[], RegExp][] = [
    ['no model folder', [DEMO, '--model', '/nonexistent/model'], /^sam-amg: \/nonexistent\/model: no such model folder$/],
    ['no images in a folder', [empty, '--model', TINY], /^sam-amg: no images found in /],
    ['only files without an image extension', [notImages, '--model', TINY], /^sam-amg: no images found in .* \(1 file without an image extension skipped\)$/],
    ['an input that is not there', [path.join(empty, 'gone'), '--model', TINY], /: no such file or folder$/],
    ['a bad setting', [DEMO, '--model', TINY, '--points-per-side', '0'], /^sam-amg: Expected integer in \[1, 1024\] for --points-per-side but received 0/],
    ['a shard out of range', [DEMO, '--model', TINY, '--shard', '2/2'], /^sam-amg: Expected a shard i\/n with 0 <= i < n for --shard but received 2\/2$/],
    ['an unknown device', [DEMO, '--model', TINY, '--device', 'gpu'], /^sam-amg: Expected one of cpu, /],
    ['a choice commander refuses', [DEMO, '--model', TINY, '--format', 'tif'], /^sam-amg: option '--format <format>' argument 'tif' is invalid/],
    ['--encoder without --decoder', [DEMO, '--encoder', path.join(TINY, 'encoder.onnx')], /^sam-amg: --encoder and --decoder go together$/],
  ];
  if (!cudaInstalled && process.platform === 'linux') {
    cases.push(['--device cuda without its libraries', [DEMO, '--model', TINY, '--device', 'cuda'], /^sam-amg: --device cuda: the installed onnxruntime-node has no CUDA libraries/]);
  }

  it.each(cases)('%s', async (_, args, line) => {
    const root = tempDir();
    // Parents it would have had to make are not left either.
    const out = path.join(root, 'runs', 'today', 'masks');
    const res = await runCli([...args, '--out', out]);
    expect(res.code).toBe(2);
    expect(res.stderr.split('\n')).toEqual([expect.stringMatching(line), '']);
    expect(readdirSync(root)).toEqual([]);
  });

  it('--device webgpu with no adapter: the provider\'s own warnings stay out (with one, it runs)', async () => {
    const root = tempDir();
    const out = path.join(root, 'masks');
    const res = await runCli([DEMO, '--out', out, '--model', TINY, '--device', 'webgpu', '--points-per-side', '4']);
    if (res.code === 0) return;
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^sam-amg: --device webgpu: onnxruntime could not start its WebGPU provider \(.+\)\n$/);
    expect(readdirSync(root)).toEqual([]);
  });

  it('an --out folder that was there stays, as it was', async () => {
    const out = tempDir();
    writeFileSync(path.join(out, 'keep.txt'), 'mine');
    const res = await runCli([tempDir(), '--out', out, '--model', TINY]);
    expect(res.code).toBe(2);
    expect(readdirSync(out)).toEqual(['keep.txt']);
  });

  it('a model that fails to load leaves no folder either', async () => {
    const root = tempDir();
    const model = path.join(root, 'model');
    mkdirSync(model);
    writeFileSync(path.join(model, 'encoder.onnx'), 'not a graph');
    writeFileSync(path.join(model, 'decoder.onnx'), 'not a graph');
    const images = tempDir();
    await writeScenes(images, 1);
    const res = await runCli([images, '--out', path.join(root, 'masks'), '--model', model]);
    expect(res.code).toBe(2);
    expect(readdirSync(root)).toEqual(['model']);
  });

  it('the library: runDataset refused leaves no folder', async () => {
    const root = tempDir();
    const out = path.join(root, 'a', 'masks');
    await expect(runDataset({ inputs: [tempDir()], out, model: TINY })).rejects.toThrow(/^no images found in /);
    await expect(runDataset({ inputs: [DEMO], out, model: TINY, shard: '3/2' })).rejects.toThrow('Expected a shard i/n with 0 <= i < n for shard but received 3/2');
    expect(readdirSync(root)).toEqual([]);
  });
});

describe('proving an output folder writable', () => {
  it('leaves nothing, however many prove the same new folder at once; the first write makes it', async () => {
    const root = tempDir();
    const out = path.join(root, 'x', 'y');
    await Promise.all(Array.from({ length: 16 }, () => prepareOutputFolder(out, '--out')));
    expect(readdirSync(root)).toEqual([]);
    // Runs proving it while another writes its first file: the file lands, the folder stays.
    await Promise.all([
      ...Array.from({ length: 8 }, () => prepareOutputFolder(out, '--out')),
      writeFileAtomic(path.join(out, 'lock'), 'held'),
    ]);
    expect(readdirSync(out)).toEqual(['lock']);
  });

  it('still refuses what cannot take outputs, in one line', async () => {
    const root = tempDir();
    writeFileSync(path.join(root, 'file'), '');
    await expect(prepareOutputFolder(path.join(root, 'file'), '--out')).rejects.toThrow(`--out ${path.join(root, 'file')}: is a file, not a folder`);
    await expect(prepareOutputFolder(path.join(root, 'file', 'sub'), '--out')).rejects.toThrow('is a file, not a folder');
    expect(readdirSync(root)).toEqual(['file']);
  });
});
