import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { verifyCachedModel } from '../model/pull.js';
import { cacheDir, downloadsDirOf, entryOf, formatSize, loadRegistry, modelDirOf } from '../model/registry.js';
import { isCached, pullAnnounced } from './model-choice.js';
import { EXIT } from './run-command.js';

type SetResult = (p: Promise<number>) => void;

async function list(): Promise<number> {
  const registry = loadRegistry();
  const cache = cacheDir();
  const rows = [['name', 'family', 'size', 'licence', 'cached']];
  for (const [name, e] of registry.models) {
    rows.push([`${name}${name === registry.default ? ' (default)' : ''}`, e.family, formatSize(e), e.licence,
      (await isCached(cache, name)) ? 'yes' : 'no']);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  process.stdout.write(rows.map((r) => r.map((v, c) => v.padEnd(widths[c])).join('  ').trimEnd()).join('\n') + '\n');
  process.stdout.write(`cache: ${cache}\n`);
  return EXIT.ok;
}

async function pull(name: string, o: { force?: boolean; quiet?: boolean }): Promise<number> {
  const registry = loadRegistry();
  entryOf(registry, name);
  const cache = cacheDir();
  if (!o.force && (await isCached(cache, name))) {
    if (!o.quiet) process.stderr.write(`sam-amg: ${name} is already in ${modelDirOf(cache, name)} (--force to download it again)\n`);
    return EXIT.ok;
  }
  const dir = await pullAnnounced(registry, name, cache, o.quiet);
  if (!o.quiet) process.stderr.write(`sam-amg: ${name} verified and ready in ${dir}\n`);
  return EXIT.ok;
}

async function verify(name: string | undefined): Promise<number> {
  const registry = loadRegistry();
  const cache = cacheDir();
  const names = name ? [entryOf(registry, name).name] : [...registry.models.keys()];
  let bad = 0;
  let checked = 0;
  for (const n of names) {
    if (!(await isCached(cache, n))) {
      if (name) {
        process.stderr.write(`sam-amg: ${n} is not cached; run sam-amg models pull ${n}\n`);
        return EXIT.someFailed;
      }
      continue;
    }
    checked++;
    const { ok, problems } = await verifyCachedModel(cache, n);
    process.stdout.write(`${n}: ${ok ? 'ok' : 'FAILED'}\n`);
    for (const p of problems) process.stderr.write(`sam-amg: ${p}\n`);
    if (!ok) bad++;
  }
  if (!name && checked === 0) process.stdout.write('no cached models\n');
  return bad ? EXIT.someFailed : EXIT.ok;
}

async function where(name: string): Promise<number> {
  const registry = loadRegistry();
  entryOf(registry, name);
  const cache = cacheDir();
  if (!(await isCached(cache, name))) {
    process.stderr.write(`sam-amg: ${name} is not cached; run sam-amg models pull ${name}\n`);
    return EXIT.someFailed;
  }
  process.stdout.write(`${modelDirOf(cache, name)}\n`);
  return EXIT.ok;
}

async function remove(name: string, o: { quiet?: boolean }): Promise<number> {
  const registry = loadRegistry();
  entryOf(registry, name);
  const cache = cacheDir();
  const cached = await isCached(cache, name);
  await rm(modelDirOf(cache, name), { recursive: true, force: true });
  const downloads = downloadsDirOf(cache);
  for (const f of await readdir(downloads).catch(() => [] as string[])) {
    if (f.startsWith(`${name}.`)) await rm(path.join(downloads, f), { force: true });
  }
  if (!o.quiet) process.stderr.write(`sam-amg: ${cached ? `removed ${name}` : `${name} was not cached`}\n`);
  return EXIT.ok;
}

/** `sam-amg models list|pull|verify|path|rm`. */
export function addModelsCommand(program: Command, setResult: SetResult): void {
  const models = program.command('models').description(`list, download, verify and remove registry models (cache: $SAM_AMG_HOME, else $XDG_CACHE_HOME/sam-amg or ~/.cache/sam-amg; mirrors: $SAM_AMG_MODEL_BASE_URL)`);
  models.command('list').description('the registry: name, family, size, licence, cached or not').action(() => {
    setResult(list());
  });
  models.command('pull').argument('<name>').description('download, verify and cache a model (resumes a partial download)')
    .option('--force', 'download again even when cached').option('-q, --quiet', 'print nothing but errors')
    .action((name: string, o: { force?: boolean; quiet?: boolean }) => {
      setResult(pull(name, o));
    });
  models.command('verify').argument('[name]').description('recompute the SHA-256 of cached model files').action((name?: string) => {
    setResult(verify(name));
  });
  models.command('path').argument('<name>').description('print the folder of a cached model').action((name: string) => {
    setResult(where(name));
  });
  models.command('rm').argument('<name>').description('remove a cached model and its partial downloads')
    .option('-q, --quiet', 'print nothing but errors').action((name: string, o: { quiet?: boolean }) => {
      setResult(remove(name, o));
    });
}

