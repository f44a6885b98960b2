import { joinLocation } from '../storage/location.js';
import { storeFor } from '../storage/store.js';
import type { RunIdentity } from '../output/run-identity.js';
import { UsageError } from '../settings/validate.js';

/** Records what an output folder holds; no image can map to this name (see reservedOutputs). */
export const MANIFEST_FILE = '.sam-amg-run.json';

/**
 * Claims the output folder for this run: writes the manifest when there is
 * none, accepts one with the same fingerprint and format (another shard, or a
 * resumed run), and refuses a different one unless `overwrite`.
 */
export async function claimOutputFolder(outDir: string, identity: RunIdentity, overwrite: boolean): Promise<void> {
  const file = joinLocation(outDir, MANIFEST_FILE);
  const store = storeFor(outDir);
  const text = (await store.read(file).catch(() => undefined))?.toString('utf8');
  if (text !== undefined && !overwrite) {
    let existing: Partial<RunIdentity> | undefined;
    try {
      existing = JSON.parse(text);
    } catch {
      throw new UsageError(`${file}: unreadable run manifest; delete it or pass --overwrite`);
    }
    if (existing?.fingerprint === identity.fingerprint && existing?.format === identity.format) return;
    const what = existing?.format !== identity.format
      ? `format ${existing?.format}, not ${identity.format}`
      : describeDifference(existing!, identity);
    throw new UsageError(`${outDir} holds masks made with ${what}; use another --out or pass --overwrite to replace them`);
  }
  await store.write(file, `${JSON.stringify(identity, null, 1)}\n`);
}

function describeDifference(old: Partial<RunIdentity>, now: RunIdentity): string {
  const changed = Object.keys(now.settings).filter((k) => old.settings?.[k] !== now.settings[k]);
  if (changed.length > 0) {
    return `other settings (${changed.map((k) => `${k} ${old.settings?.[k]} instead of ${now.settings[k]}`).join(', ')})`;
  }
  return 'another model';
}
