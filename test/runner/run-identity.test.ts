import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { runIdentity } from '../../src/runner/identity.js';
import { resolveSettings } from '../../src/settings/settings.js';
import { tempDir, TINY } from '../helpers.js';

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

it('takes a pulled file\'s recorded checksum while its size and time hold, and hashes it again once either changes', async () => {
  const dir = tempDir();
  for (const f of ['encoder.onnx', 'decoder.onnx']) copyFileSync(path.join(TINY, f), path.join(dir, f));
  const files = { encoder: path.join(dir, 'encoder.onnx'), decoder: path.join(dir, 'decoder.onnx'), config: path.join(dir, 'model.json') };
  const encoderStat = statSync(files.encoder);
  // A recorded checksum no hash could give: seeing it in the identity proves the file was not read.
  const recorded = 'f'.repeat(64);
  writeFileSync(files.config, JSON.stringify({
    files_sha256: { 'encoder.onnx': recorded },
    files_stat: { 'encoder.onnx': { size: encoderStat.size, mtime_ms: encoderStat.mtimeMs } },
  }));
  const settings = resolveSettings({});
  const trusted = await runIdentity(files, settings, 'json');
  expect(trusted.model).toEqual({ encoder: recorded, decoder: sha(files.decoder), config: sha(files.config) });

  utimesSync(files.encoder, new Date(), new Date(encoderStat.mtimeMs + 5000));
  const touched = await runIdentity(files, settings, 'json');
  expect(touched.model.encoder).toBe(sha(files.encoder));
  expect(touched.fingerprint).not.toBe(trusted.fingerprint);
});

it('hashes every file of a pair named without a model folder', async () => {
  const files = { encoder: path.join(TINY, 'encoder.onnx'), decoder: path.join(TINY, 'decoder.onnx') };
  const identity = await runIdentity(files, resolveSettings({}), 'json');
  expect(identity.model).toEqual({ encoder: sha(files.encoder), decoder: sha(files.decoder), config: null });
});
