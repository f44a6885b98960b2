import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { RgbImage } from '../src/image/rgb-image.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const TINY = path.join(ROOT, 'fixtures/models/tiny');
export const TINY_BATCHED = path.join(ROOT, 'fixtures/models/tiny-batched');
/** Photo-like JPEG scenes the project makes itself (scripts/make-photo-fixtures.ts): every test that needs photos uses these. */
export const PHOTOS = path.join(ROOT, 'fixtures/photos');
export const PHOTO_NAMES = ['meadow', 'shelf', 'still-life'] as const;

export function tempDir(prefix = 'sam-amg-test-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export interface Shape {
  colour: [number, number, number];
  /** Row-major inside test for pixel centres. */
  contains: (x: number, y: number) => boolean;
}

/** Flat-coloured shapes painted in order over a flat background. */
export function paintScene(width: number, height: number, background: [number, number, number], shapes: Shape[]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let c = background;
      for (const s of shapes) if (s.contains(x, y)) c = s.colour;
      data.set(c, (y * width + x) * 3);
    }
  }
  return { width, height, data };
}

/** Row-major 0/1 mask of the pixels a shape owns in the painted scene (later shapes cover earlier ones). */
export function shapeMask(width: number, height: number, shapes: Shape[], index: number): Uint8Array {
  const m = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let owner = -1;
      shapes.forEach((s, k) => { if (s.contains(x, y)) owner = k; });
      if (owner === index) m[y * width + x] = 1;
    }
  }
  return m;
}

export function maskIou(a: Uint8Array, b: Uint8Array): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] && b[i]) inter++;
    if (a[i] || b[i]) union++;
  }
  return union === 0 ? 0 : inter / union;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Preloaded by every CLI the tests spawn: one onnxruntime intra-op thread per session (see the file). */
const ONE_THREAD = `--require ${JSON.stringify(path.join(ROOT, 'test/onnx-one-thread.cjs'))}`;

/**
 * The environment tests run the CLI in: an empty model cache, and a download
 * base on loopback that refuses connections, so no test ever reaches another host;
 * onnxruntime sessions on one thread each, as in the test processes themselves.
 */
export function testEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_OPTIONS: [process.env.NODE_OPTIONS, ONE_THREAD].filter(Boolean).join(' '),
    SAM_AMG_HOME: tempDir('sam-amg-home-'),
    SAM_AMG_MODEL_BASE_URL: 'http://127.0.0.1:1',
    SAM_AMG_REGISTRY: '',
    // S3 runs find only what a test gives them: no profile files, no instance metadata (which lives off loopback).
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  };
}

/** Spawns the real CLI as a user runs it. */
export function runCli(
  args: string[],
  options: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; uid?: number; gid?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/sam-amg.js'), ...args], {
      cwd: options.cwd ?? ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: options.env ?? testEnv(),
      uid: options.uid,
      gid: options.gid,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Writes `count` small PNG scenes (two flat shapes each, colours varying by index) into `dir`. */
export async function writeScenes(dir: string, count: number, size: [number, number] = [64, 48]): Promise<string[]> {
  const { default: sharp } = await import('sharp');
  const { mkdirSync } = await import('node:fs');
  const [w, h] = size;
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const img = paintScene(w, h, [20 + (i * 37) % 60, 30, 40], [
      { colour: [200, (i * 53) % 200, 40], contains: (x, y) => x >= 6 + (i % 5) && x < 30 && y >= 8 && y < 36 },
      { colour: [40, 180, (i * 29) % 250], contains: (x, y) => (x - 46) ** 2 + (y - 24) ** 2 < (8 + (i % 4)) ** 2 },
    ]);
    const name = `${i < 10 ? 'a' : 'b'}/scene-${String(i).padStart(3, '0')}.png`;
    mkdirSync(path.join(dir, path.dirname(name)), { recursive: true });
    await sharp(img.data, { raw: { width: w, height: h, channels: 3 } }).png().toFile(path.join(dir, name));
    names.push(name);
  }
  return names;
}

/** Spawns the CLI and hands its stdout lines to `onLine` as they arrive. */
export function spawnCli(args: string[], onLine: (line: string, child: import('node:child_process').ChildProcess) => void, env = testEnv()) {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/sam-amg.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let buffer = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    buffer += d;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      onLine(line, child);
    }
  });
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
  return { child, done };
}


/** Every entry under `root` (links not followed): kind and content, by relative path. */
export function snapshotTree(root: string): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (rel: string) => {
    for (const e of readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const name = rel ? `${rel}/${e.name}` : e.name;
      const full = path.join(root, name);
      if (e.isSymbolicLink()) found.set(name, `link ${readlinkSync(full)}`);
      else if (e.isDirectory()) {
        found.set(name, 'folder');
        walk(name);
      } else found.set(name, `file ${createHash('sha256').update(readFileSync(full)).digest('hex')}`);
    }
  };
  walk('');
  return found;
}

/**
 * Every entry of `before` is still there, byte for byte, and every new
 * entry lies under one of `newUnder` (relative paths; '' allows none).
 */
export function expectTreeKept(before: Map<string, string>, after: Map<string, string>, newUnder: string[] = []): void {
  const changed = [...before].filter(([name, what]) => after.get(name) !== what).map(([name]) => name);
  const added = [...after.keys()].filter((name) => !before.has(name) && !newUnder.some((p) => name === p || name.startsWith(`${p}/`)));
  if (changed.length || added.length) throw new Error(`tree changed: ${JSON.stringify({ changed, added })}`);
}

/** A command's complaint is one line per cause, with no stack trace. */
export function expectLines(stderr: string, ...lines: RegExp[]): void {
  expect(stderr).not.toMatch(/^\s+at /m);
  const got = stderr.trim().split('\n');
  for (const line of lines) expect(got.filter((l) => line.test(l)), `${line} in ${JSON.stringify(got)}`).toHaveLength(1);
}

/** The mask with its holes filled: every pixel not reachable from outside through 4-connected background. */
export function holesFilled(m: Uint8Array, width: number, height: number): Uint8Array {
  const outside = new Uint8Array(m.length);
  const stack: number[] = [];
  const push = (x: number, y: number) => {
    const p = y * width + x;
    if (x >= 0 && y >= 0 && x < width && y < height && !m[p] && !outside[p]) {
      outside[p] = 1;
      stack.push(p);
    }
  };
  for (let x = 0; x < width; x++) { push(x, 0); push(x, height - 1); }
  for (let y = 0; y < height; y++) { push(0, y); push(width - 1, y); }
  while (stack.length) {
    const p = stack.pop()!;
    const x = p % width;
    const y = (p - x) / width;
    push(x - 1, y); push(x + 1, y); push(x, y - 1); push(x, y + 1);
  }
  return outside.map((v) => 1 - v);
}

/** Each 8-connected component's first pixel (x y pairs) in raster order, by flooding pixel by pixel: a reference for the labellers. */
export function firstPixelsByFlood(data: Uint8Array, width: number, height: number): number[] {
  const seen = new Uint8Array(data.length);
  const starts: number[] = [];
  for (let s = 0; s < data.length; s++) {
    if (!data[s] || seen[s]) continue;
    starts.push(s % width, Math.floor(s / width));
    const stack = [s];
    seen[s] = 1;
    while (stack.length) {
      const p = stack.pop()!;
      const px = p % width;
      const py = (p - px) / width;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const x = px + dx;
          const y = py + dy;
          const q = y * width + x;
          if (x >= 0 && y >= 0 && x < width && y < height && data[q] && !seen[q]) {
            seen[q] = 1;
            stack.push(q);
          }
        }
      }
    }
  }
  return starts;
}
