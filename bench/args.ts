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
