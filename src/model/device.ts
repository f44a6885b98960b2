/**
 * `--device`: which onnxruntime execution provider runs the graphs, with the
 * CPU as the fallback onnxruntime always has. A provider the installed
 * onnxruntime-node cannot offer is refused before any model loads.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { invalid, UsageError } from '../errors.js';
import { PACKAGE_ROOT } from '../package-root.js';

export type DeviceKind = 'cpu' | 'cuda' | 'tensorrt' | 'webgpu' | 'coreml' | 'dml';

export interface Device {
  kind: DeviceKind;
  /** The GPU's index for cuda, tensorrt and dml (default 0). */
  index: number;
}

export const CPU: Device = { kind: 'cpu', index: 0 };

const TITLES: Record<DeviceKind, string> = {
  cpu: 'CPU', cuda: 'CUDA', tensorrt: 'TensorRT', webgpu: 'WebGPU', coreml: 'CoreML', dml: 'DirectML',
};
/** Platforms a provider exists on at all. */
const ONLY_ON: Partial<Record<DeviceKind, NodeJS.Platform>> = { coreml: 'darwin', dml: 'win32' };
/** Libraries onnxruntime-node's install step downloads (not in the npm package) that a provider needs. */
const DOWNLOADED: Partial<Record<DeviceKind, string[]>> = {
  cuda: ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'],
  tensorrt: ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_tensorrt.so'],
};

/** `label` names the option in messages (the CLI's `--device`, a library caller's `device`). */
export function parseDevice(text: string, label = '--device'): Device {
  const m = /^(cpu|cuda|tensorrt|webgpu|coreml|dml)(?::(\d+))?$/.exec(text.trim());
  const kind = m?.[1] as DeviceKind | undefined;
  if (!m || !kind || (m[2] !== undefined && !['cuda', 'tensorrt', 'dml'].includes(kind))) {
    throw invalid('one of cpu, cuda[:N], tensorrt[:N], webgpu, coreml, dml', label, text);
  }
  return { kind, index: m[2] === undefined ? 0 : Number(m[2]) };
}

export function deviceName(d: Device): string {
  return d.kind === 'cpu' || d.index === 0 ? d.kind : `${d.kind}:${d.index}`;
}

/** The folder of onnxruntime-node's native binding for this platform. */
function bindingFolder(): string | undefined {
  const root = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  const bin = path.join(root, 'bin');
  const napi = existsSync(bin) ? readdirSync(bin).filter((d) => d.startsWith('napi-v')).sort().reverse() : [];
  return napi.map((d) => path.join(bin, d, process.platform, process.arch)).find((d) => existsSync(d));
}

/**
 * Refuses, with one line saying why and what to do, a provider that the
 * installed onnxruntime-node does not offer on this platform or whose
 * libraries its install step did not download.
 */
export function checkDeviceAvailable(d: Device, label = '--device'): void {
  if (d.kind === 'cpu') return;
  const title = TITLES[d.kind];
  const offered = ort.listSupportedBackends();
  const names = offered.map((b) => b.name).join(', ');
  const only = ONLY_ON[d.kind];
  if ((only && only !== process.platform) || !offered.some((b) => b.name === d.kind)) {
    const where = only ? `${title} runs on ${only === 'darwin' ? 'macOS' : 'Windows'} only; ` : '';
    throw new UsageError(`${label} ${deviceName(d)}: ${where}onnxruntime-node on ${process.platform}/${process.arch} offers ${names}`);
  }
  const backend = offered.find((b) => b.name === d.kind)!;
  const needed = DOWNLOADED[d.kind];
  if (backend.bundled || !needed) return;
  const folder = bindingFolder();
  const missing = needed.filter((f) => !folder || !existsSync(path.join(folder, f)));
  if (missing.length) {
    throw new UsageError(`${label} ${deviceName(d)}: the installed onnxruntime-node has no ${title} libraries (${missing.join(', ')}); ` +
      'its install step, which sam-amg skips by default, downloads them: on a machine with internet, CUDA 12 and cuDNN 9, ' +
      'run `ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install` in the folder sam-amg is installed in');
  }
}

/**
 * Providers whose native layers print to the process's stderr while they
 * start (WebGPU: Dawn's adapter warnings, Wayland's XDG_RUNTIME_DIR
 * complaints), out of reach of onnxruntime's log level.
 */
const NOISY_START: ReadonlySet<DeviceKind> = new Set(['webgpu']);
const PROBE_SCRIPT = path.join(PACKAGE_ROOT, 'dist/src/model/device-probe.js');
const PROBE_TIMEOUT_MS = 120_000;

/**
 * For a provider that talks on stderr as it starts, starts it first in a
 * child process (device-probe.ts) whose stderr is dropped: one that cannot
 * start refuses the run in one line, before any model loads, and the
 * provider's own noise stays out of the run's output.
 */
export async function probeDevice(d: Device, label = '--device'): Promise<void> {
  if (!NOISY_START.has(d.kind) || !existsSync(PROBE_SCRIPT)) return;
  const answer = await new Promise<{ ok: boolean; message?: string } | string>((resolve) => {
    execFile(process.execPath, [PROBE_SCRIPT, deviceName(d)], { timeout: PROBE_TIMEOUT_MS, maxBuffer: 2 ** 20 }, (err, stdout) => {
      try {
        const parsed = JSON.parse(stdout.trim().split('\n').pop() ?? '');
        if (typeof parsed?.ok === 'boolean') return resolve(parsed);
      } catch { /* no answer: said below */ }
      const e = err as (NodeJS.ErrnoException & { killed?: boolean; signal?: string | null }) | null;
      resolve(e?.killed ? `did not start within ${PROBE_TIMEOUT_MS / 1000} s` : e?.signal ? `crashed while starting (${e.signal})` : `failed while starting (${e?.message.split('\n')[0] ?? 'no answer'})`);
    });
  });
  if (typeof answer === 'string') throw new UsageError(`${label} ${deviceName(d)}: onnxruntime's ${TITLES[d.kind]} provider ${answer}`);
  if (!answer.ok) throw couldNotStart(d, answer.message ?? '', label);
}

/** The one line for a provider that onnxruntime could not start, from onnxruntime's message. */
function couldNotStart(d: Device, message: string, label = '--device'): UsageError {
  // onnxruntime's messages end in the cause, after source locations and assertion text.
  const first = message.split('\n')[0].replace(/\)+$/, '');
  const cause = first.split(/\. (?=[A-Z])/).pop()!.replace(/^.*: not a loadable ONNX model \(/, '');
  return new UsageError(`${label} ${deviceName(d)}: onnxruntime could not start its ${TITLES[d.kind]} provider (${cause})`);
}

/** The execution providers for onnxruntime, best first, the CPU last. */
export function executionProviders(d: Device): ort.InferenceSession.ExecutionProviderConfig[] {
  switch (d.kind) {
    case 'cpu': return ['cpu'];
    case 'cuda': return [{ name: 'cuda', deviceId: d.index }, 'cpu'];
    case 'tensorrt': return [{ name: 'tensorrt', deviceId: d.index }, { name: 'cuda', deviceId: d.index }, 'cpu'];
    case 'dml': return [{ name: 'dml', deviceId: d.index }, 'cpu'];
    default: return [d.kind, 'cpu'];
  }
}

/**
 * A session on the device; when the provider cannot start (no adapter, no
 * driver) while the CPU loads the same file, that is the device's fault, said in one line.
 */
export async function createOnDevice(
  d: Device,
  create: (options: ort.InferenceSession.SessionOptions) => Promise<ort.InferenceSession>,
  options: ort.InferenceSession.SessionOptions,
): Promise<ort.InferenceSession> {
  if (d.kind === 'cpu') return create(options);
  try {
    return await create({ ...options, executionProviders: executionProviders(d) });
  } catch (err) {
    const cpu = await create(options).catch(() => undefined);
    if (!cpu) throw err;
    await cpu.release();
    throw couldNotStart(d, String((err as Error).message));
  }
}
