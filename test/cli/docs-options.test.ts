import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { renderOptionsDoc } from '../../scripts/options-doc.js';
import { ROOT } from '../helpers.js';

/** docs/options.md is generated from the CLI's definitions (scripts/options-doc.ts) and must stay so. */

const DOC = path.join(ROOT, 'docs/options.md');
const REGENERATE = 'docs/options.md is out of date with the CLI\'s options: run `npm run build && npm run docs:options` and commit the result';
const run = promisify(execFile);

/** `sam-amg ...words --help`, as a user runs it. */
async function helpOf(words: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [path.join(ROOT, 'bin/sam-amg.js'), ...words, '--help'], { cwd: ROOT, env: { ...process.env, COLUMNS: '80' } });
  return stdout;
}

/** The lines of one section of a help text ("Options:", "Commands:"), each an entry's term (two spaces in). */
function terms(help: string, heading: string): string[] {
  const at = help.indexOf(`\n${heading}\n`);
  if (at < 0) return [];
  const found: string[] = [];
  for (const line of help.slice(at + heading.length + 2).split('\n')) {
    if (line.trim() === '') break;
    const m = /^ {2}(\S.*?)(?: {2,}|$)/.exec(line);
    if (m) found.push(m[1]);
  }
  return found;
}

/** The doc's sections by heading: "sam-amg", "sam-amg models pull", ... */
function sections(doc: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of doc.split(/^## /m).slice(1)) {
    const nl = part.indexOf('\n');
    map.set(part.slice(0, nl).trim(), part.slice(nl));
  }
  return map;
}

describe('docs/options.md', () => {
  it('is exactly what scripts/options-doc.ts renders from the CLI\'s definitions', () => {
    const committed = readFileSync(DOC, 'utf8');
    const generated = renderOptionsDoc();
    if (committed !== generated) {
      const a = committed.split('\n');
      const b = generated.split('\n');
      const line = a.findIndex((l, i) => l !== b[i]);
      expect.fail(`${REGENERATE}\nfirst difference at line ${line + 1}:\n  docs/options.md: ${a[line] ?? '(end of file)'}\n  generated:       ${b[line] ?? '(end of file)'}`);
    }
  });

  it('holds every option that each command\'s --help shows, in that command\'s section', async () => {
    const doc = sections(readFileSync(DOC, 'utf8'));
    const missing: string[] = [];
    const commands: string[][] = [[]];
    let checked = 0;
    for (let i = 0; i < commands.length; i++) {
      const words = commands[i];
      const help = await helpOf(words);
      const name = ['sam-amg', ...words].join(' ');
      for (const term of terms(help, 'Commands:')) {
        const sub = term.split(' ')[0];
        if (sub !== 'help') commands.push([...words, sub]);
      }
      const section = doc.get(name);
      if (!section) {
        missing.push(`${name}: no section "## ${name}"`);
        continue;
      }
      for (const flags of terms(help, 'Options:')) {
        checked++;
        if (!section.includes(`| \`${flags.replace(/\|/g, '\\|')}\` |`)) missing.push(`${name}: ${flags}`);
      }
    }
    expect(checked).toBeGreaterThan(40);
    expect(commands.map((w) => w.join(' '))).toEqual(expect.arrayContaining(['models pull', 'merge', 'export', 'inspect', 'report', 'status']));
    expect(missing, REGENERATE).toEqual([]);
  });
});
