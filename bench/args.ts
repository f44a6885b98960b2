import { readFileSync } from 'node:fs';
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
