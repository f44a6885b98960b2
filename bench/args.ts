import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

/** `--name value` options of the bench scripts, with fallbacks. */
export function benchOptions(args = process.argv.slice(2)) {
  return {
    args,
    opt(name: string, fallback: string): string {
      const i = args.indexOf(name);
      return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
    },
  };
}

/** Prints a bench script's header comment (its usage) when `--help` is given, and exits. */
export function helpFromHeader(args: string[], moduleUrl: string): void {
  if (!args.includes('--help')) return;
  const source = readFileSync(fileURLToPath(moduleUrl).replace(/dist\/(bench\/[\w-]+)\.js$/, '$1.ts'), 'utf8');
  console.log(source.split('*/')[0].replace(/^\/\*\*\n?/, '').replace(/^ \* ?/gm, ''));
  process.exit(0);
}

/**
 * The processor and its vector extensions (as lscpu shows them), printed with
 * every bench result: onnxruntime's throughput differs several-fold between
 * an AVX2-only and an AVX-512 machine.
 */
export function machineLine(): string {
  let model = cpus()[0]?.model ?? 'unknown CPU';
  let flags: string[] = [];
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    model = /^model name\s*:\s*(.*)$/m.exec(info)?.[1] ?? model;
    flags = (/^flags\s*:\s*(.*)$/m.exec(info)?.[1] ?? '').split(/\s+/);
  } catch {
    // Not Linux: the model name from Node is all there is.
  }
  const vector = flags.filter((f) => /^(sse4_2|avx|avx2|fma|f16c|avx512f|avx512bw|avx512vl|avx512_vnni|avx512_bf16|avx_vnni|amx_\w+)$/.test(f));
  return `machine: ${model}, ${cpus().length} cores${vector.length ? `, ${vector.join(' ')}` : ''}`;
}
