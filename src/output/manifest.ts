import { optionName, UsageError, type OptionNames } from '../errors.js';
import { joinLocation } from '../storage/location.js';
import { storeFor } from '../storage/store.js';
import { MANIFEST_FILE } from './layout.js';
import type { RunIdentity } from './run-identity.js';

/**
 * Claims the output folder for this run: writes the manifest when there is
 * none (a conditional write, so of two runs starting at once one writes it
 * and the other reads it), accepts one with the same fingerprint and format
 * (another shard, or a resumed run), and refuses a different one unless
 * `overwrite`. `names`: how messages name the options (`out`, or the CLI's `--out`).
 */
export async function claimOutputFolder(outDir: string, identity: RunIdentity, overwrite: boolean, names: OptionNames = 'keys'): Promise<void> {
  const n = (key: string) => optionName(key, names);
  const file = joinLocation(outDir, MANIFEST_FILE);
  const store = storeFor(outDir);
  const manifest = `${JSON.stringify(identity, null, 1)}\n`;
  if (overwrite) return store.write(file, manifest);
  // Created, or read and judged; a manifest removed between the two is looked for again.
  for (let attempt = 0; attempt < 3; attempt++) {
    const text = (await store.read(file).catch(() => undefined))?.toString('utf8');
    if (text === undefined) {
      if (await store.create(file, manifest)) return;
      continue;
    }
    let existing: Partial<RunIdentity> | undefined;
    try {
      existing = JSON.parse(text);
    } catch {
      throw new UsageError(`${file}: unreadable run manifest; delete it or pass ${n('overwrite')}`);
    }
    if (existing?.fingerprint === identity.fingerprint && existing?.format === identity.format) return;
    const what = existing?.format !== identity.format
      ? `format ${existing?.format}, not ${identity.format}`
      : describeDifference(existing!, identity);
    throw new UsageError(`${outDir} holds masks made with ${what}; use another ${n('out')} or pass ${n('overwrite')} to replace them`);
  }
  throw new UsageError(`${file}: the run manifest keeps changing under this run; is another run starting there?`);
}

function describeDifference(old: Partial<RunIdentity>, now: RunIdentity): string {
  const settings = old.settings && typeof old.settings === 'object' ? old.settings : {};
  const changed = Object.keys(now.settings).filter((k) => settings[k] !== now.settings[k]);
  if (changed.length > 0) {
    return `other settings (${changed.map((k) => `${k} ${settings[k]} instead of ${now.settings[k]}`).join(', ')})`;
  }
  return 'another model';
}
