/**
 * The errors every room may raise, and the one shape of a bad value: the
 * bottom of the house, importing nothing of the project.
 */

/** A bad option or argument: the CLI prints the message and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

function describe(value: unknown): string {
  const shown = typeof value === 'string' || typeof value === 'number' ? String(value) : JSON.stringify(value) ?? String(value);
  return `${shown} of type ${typeof value}`;
}

/** The one message shape for every bad value, after sharp's. */
export function invalid(expected: string, label: string, value: unknown): UsageError {
  return new UsageError(`Expected ${expected} for ${label} but received ${describe(value)}`);
}

export interface NumberRule {
  integer?: boolean;
  min?: number;
  max?: number;
  /** The minimum itself is not allowed. */
  minExclusive?: boolean;
  /** The maximum itself is not allowed. */
  maxExclusive?: boolean;
}

function ruleText(rule: NumberRule): string {
  const kind = rule.integer ? 'integer' : 'number';
  const { min, max } = rule;
  if (rule.integer && min === 1 && max === undefined) return 'positive integer';
  if (rule.integer && min === 0 && max === undefined) return 'non-negative integer';
  if (min !== undefined && max !== undefined) {
    const lo = rule.minExclusive ? '(' : '[';
    const hi = rule.maxExclusive ? ')' : ']';
    return `${kind} in ${lo}${min}, ${max}${hi}`;
  }
  if (min !== undefined) return `${kind} ${rule.minExclusive ? '>' : '>='} ${min}`;
  if (max !== undefined) return `${kind} ${rule.maxExclusive ? '<' : '<='} ${max}`;
  return kind;
}

/**
 * Checks a number against a rule. Strings holding a plain decimal number
 * (what a command line gives) are accepted and converted.
 */
export function checkNumber(label: string, value: unknown, rule: NumberRule): number {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && /^\s*[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$/i.test(value)) n = Number(value);
  else throw invalid(ruleText(rule), label, value);
  const ok = Number.isFinite(n) &&
    (!rule.integer || Number.isInteger(n)) &&
    (rule.min === undefined || (rule.minExclusive ? n > rule.min : n >= rule.min)) &&
    (rule.max === undefined || (rule.maxExclusive ? n < rule.max : n <= rule.max));
  if (!ok) throw invalid(ruleText(rule), label, value);
  return n;
}

/**
 * How messages name an option: by its camelCase key, as a library caller
 * gives it (`downloadLimit`), or by its command-line flag (`--download-limit`).
 */
export type OptionNames = 'keys' | 'flags';

/** Flags not spelt as their key in kebab case. */
const FLAG_OF: Readonly<Record<string, string>> = { lists: '--list', listRoot: '--root' };

/** An option's name in messages: `optionName('downloadLimit', 'flags')` is `--download-limit`. */
export function optionName(key: string, names: OptionNames = 'keys'): string {
  if (names === 'keys') return key;
  return FLAG_OF[key] ?? `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}
