/**
 * --device: execution providers, and the one-line refusal of a provider the
 * installed onnxruntime-node cannot offer (this machine has no GPU, and the
 * project skips onnxruntime-node's CUDA download).
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { executionProviders, parseDevice } from '../../src/model/device.js';
import { ROOT, runCli, tempDir, TINY } from '../helpers.js';

const DEMO = path.join(ROOT, 'fixtures/demo');
const bin = path.join(ROOT, 'node_modules/onnxruntime-node/bin');
const cudaInstalled = readdirSync(bin).some((napi) => existsSync(path.join(bin, napi, 'linux/x64/libonnxruntime_providers_cuda.so')));

describe('--device values', () => {
  it('name a provider and, for GPUs, an index, with the CPU as the fallback', () => {
    expect(parseDevice('cpu')).toEqual({ kind: 'cpu', index: 0 });
    expect(parseDevice('cuda:1')).toEqual({ kind: 'cuda', index: 1 });
    expect(executionProviders(parseDevice('cuda:1'))).toEqual([{ name: 'cuda', deviceId: 1 }, 'cpu']);
    expect(executionProviders(parseDevice('tensorrt'))).toEqual([{ name: 'tensorrt', deviceId: 0 }, { name: 'cuda', deviceId: 0 }, 'cpu']);
    expect(executionProviders(parseDevice('webgpu'))).toEqual(['webgpu', 'cpu']);
    expect(executionProviders(parseDevice('cpu'))).toEqual(['cpu']);
    for (const bad of ['gpu', 'cpu:1', 'webgpu:0', 'cuda:-1', '']) {
      expect(() => parseDevice(bad)).toThrow(`Expected one of cpu, cuda[:N], tensorrt[:N], webgpu, coreml, dml for --device but received ${bad} of type string`);
    }
  });
});

describe('a provider that is not installed', () => {
  it.skipIf(process.platform !== 'linux' || cudaInstalled)('stops the run before anything is written, in one line saying how to install it', async () => {
    const out = path.join(tempDir(), 'masks');
    const res = await runCli([DEMO, '--out', out, '--model', TINY, '--device', 'cuda']);
    expect(res.code).toBe(2);
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^sam-amg: --device cuda: the installed onnxruntime-node has no CUDA libraries \(libonnxruntime_providers_shared\.so, libonnxruntime_providers_cuda\.so\); .*ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules\/onnxruntime-node\/script\/install/);
    expect(existsSync(out)).toBe(false);
  });

  it.skipIf(process.platform !== 'linux')('names the platforms CoreML and DirectML run on', async () => {
    for (const [device, only] of [['coreml', 'macOS'], ['dml', 'Windows']]) {
      const res = await runCli([DEMO, '--out', path.join(tempDir(), 'masks'), '--model', TINY, '--device', device]);
      expect(res.code).toBe(2);
      expect(res.stderr).toMatch(new RegExp(`^sam-amg: --device ${device}: \\w+ runs on ${only} only; onnxruntime-node on linux/x64 offers cpu, `));
    }
  });

  it('on a machine without a GPU adapter, says the provider could not start; with one, runs', async () => {
    const out = path.join(tempDir(), 'masks');
    const res = await runCli([DEMO, '--out', out, '--model', TINY, '--device', 'webgpu', '--points-per-side', '8']);
    if (res.code === 0) {
      expect(existsSync(path.join(out, 'shapes.json'))).toBe(true);
    } else {
      expect(res.code).toBe(2);
      // The provider is tried in a child process first: Dawn's and Wayland's own warnings stay out, sam-amg's line is all.
      expect(res.stderr).toMatch(/^sam-amg: --device webgpu: onnxruntime could not start its WebGPU provider \(.+\)\n$/);
      expect(existsSync(out)).toBe(false);
    }
  });
});
