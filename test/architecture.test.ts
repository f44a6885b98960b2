import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

/** The rooms of src/ and what each may take from the others (docs/architecture.md). */

interface Import { from: string; spec: string; typeOnly: boolean; target?: string }

const SRC = path.join(ROOT, 'src');

function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(full) : e.name.endsWith('.ts') ? [full] : [];
  });
}

/** Every static import and re-export of a file, with the file it resolves to when relative. */
function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const found: Import[] = [];
  for (const m of text.matchAll(/^(import|export)\s+(type\s+)?[^;]*?from\s+'([^']+)'/gms)) {
    const spec = m[3];
    const target = spec.startsWith('.') ? path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts') : undefined;
    found.push({ from: file, spec, typeOnly: !!m[2], target });
  }
  return found;
}

const files = sourceFiles();
const imports = files.flatMap(importsOf);
const room = (file: string) => path.relative(SRC, file).split(path.sep)[0];
/** The bottom layer (files directly in src/): every room may import it, and it imports nothing of the project. */
const BOTTOM = ['errors.ts'];
const show = (i: Import) => `${path.relative(ROOT, i.from)} imports ${i.spec}`;

describe('rooms import only what they may', () => {
  it('finds the imports it checks (the scan itself works)', () => {
    expect(files.length).toBeGreaterThan(60);
    expect(imports.some((i) => room(i.from) === 'graph' && i.spec === 'onnx-proto')).toBe(true);
    expect(imports.some((i) => room(i.from) === 'amg' && i.typeOnly && i.target && room(i.target) === 'image')).toBe(true);
  });

  it('src/graph: protobuf in and out, no onnxruntime session, no file system', () => {
    const bad = imports.filter((i) => room(i.from) === 'graph'
      && (i.spec === 'onnxruntime-node' || /^(node:)?(fs|fs\/promises)$/.test(i.spec) || (i.target && !['graph', ...BOTTOM].includes(room(i.target)))));
    expect(bad.map(show)).toEqual([]);
  });

  it('src/amg and src/rle: pure, taking only types from image and model, nothing from I/O or onnxruntime', () => {
    const bad = imports.filter((i) => ['amg', 'rle'].includes(room(i.from)) && (
      i.spec.startsWith('node:') || i.spec === 'onnxruntime-node' || i.spec === 'sharp'
      || (!i.typeOnly && i.target && ['image', 'model', 'graph', 'output', 'runner', 'cli', 'report', 'storage'].includes(room(i.target)))));
    expect(bad.map(show)).toEqual([]);
  });

  it('src/output and src/export: writers know records, not models or runs; output needs nothing of export or runner', () => {
    const forbidden: Record<string, string[]> = { output: ['model', 'graph', 'export', 'runner', 'cli'], export: ['model', 'graph', 'runner', 'cli'] };
    const bad = imports.filter((i) => i.target && forbidden[room(i.from)]?.includes(room(i.target)));
    expect(bad.map(show)).toEqual([]);
  });

  it('src/storage: where bytes are kept, knowing no records, models or runs', () => {
    const bad = imports.filter((i) => room(i.from) === 'storage' && i.target && !['storage', ...BOTTOM].includes(room(i.target)));
    expect(bad.map(show)).toEqual([]);
  });

  it('src/errors.ts: the bottom layer, imported from every room, importing nothing of the project', () => {
    expect(imports.some((i) => i.target && BOTTOM.includes(room(i.target)) && room(i.from) === 'storage')).toBe(true);
    const bad = imports.filter((i) => BOTTOM.includes(room(i.from)) && (i.target || !i.spec.startsWith('node:')));
    expect(bad.map(show)).toEqual([]);
  });

  it('the AWS SDK is imported only for its types: the code loads it when an s3:// location is used', () => {
    const bad = imports.filter((i) => i.spec.startsWith('@aws-sdk/') && !i.typeOnly);
    expect(bad.map(show)).toEqual([]);
    // And s3.ts, the one module that loads it, is itself only imported when needed.
    const s3Importers = imports.filter((i) => i.target?.endsWith(`${path.sep}storage${path.sep}s3.ts`) && !i.typeOnly);
    expect(s3Importers.map(show)).toEqual([]);
    expect(readFileSync(path.join(SRC, 'storage/s3.ts'), 'utf8')).toContain("await import('@aws-sdk/client-s3')");
  });

  it('no file imports itself back through others', () => {
    const edges = new Map<string, string[]>();
    for (const i of imports) if (i.target) edges.set(i.from, [...(edges.get(i.from) ?? []), i.target]);
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, trail: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        cycles.push([...trail.slice(trail.indexOf(file)), file].map((f) => path.relative(SRC, f)).join(' -> '));
        return;
      }
      state.set(file, 'open');
      for (const next of edges.get(file) ?? []) visit(next, [...trail, file]);
      state.set(file, 'done');
    };
    for (const f of files) visit(f, []);
    expect(cycles).toEqual([]);
  });
});
