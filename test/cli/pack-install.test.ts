/**
 * sam-amg as a package: `npm pack` gives a tarball holding only what the CLI
 * needs at run time, which installs globally offline (as the README's
 * Dockerfile does) and whose `sam-amg` runs the demo.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { ROOT, tempDir, testEnv } from '../helpers.js';

const run = promisify(execFile);

it('packs only the run-time files, installs globally offline and runs the demo as the repository does', async () => {
  const work = tempDir('sam-amg-pack-');
  // dist is built by `npm test`'s pretest; packing without scripts leaves it alone while other tests read it.
  await run('npm', ['pack', '--ignore-scripts', '--pack-destination', work], { cwd: ROOT });
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'))!;
  const { stdout: listing } = await run('tar', ['-tzf', path.join(work, tarball)]);
  const files = listing.trim().split('\n').map((f) => f.replace(/^package\//, ''));
  const allowed = [/^bin\/sam-amg\.js$/, /^dist\/src\/.+\.(js|d\.ts)$/, /^fixtures\/demo\/.+\.png$/, /^fixtures\/models\/tiny\/(en|de)coder\.onnx$/,
    /^models\/registry\.json$/, /^README\.md$/, /^package\.json$/];
  expect(files.filter((f) => !allowed.some((a) => a.test(f)))).toEqual([]);
  expect(files).toContain('dist/src/cli/main.js');
  expect(files.some((f) => /^(test|bench|scripts)\/|^dist\/(test|bench|scripts)\//.test(f))).toBe(false);

  // As the README says for an offline, CPU-only machine: onnxruntime-node's install step must not reach out for CUDA.
  const prefix = path.join(work, 'prefix');
  const env = testEnv({ ONNXRUNTIME_NODE_INSTALL: 'skip', npm_config_update_notifier: 'false' });
  await run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', path.join(work, tarball)], { cwd: work, env });
  const installed = path.join(prefix, 'lib/node_modules/sam-amg');
  const demo = (root: string) => [path.join(root, 'fixtures/demo'), '--model', path.join(root, 'fixtures/models/tiny'), '--points-per-side', '16'];
  const fromPackage = path.join(work, 'masks');
  const { stdout: version } = await run(path.join(prefix, 'bin/sam-amg'), ['--version'], { env });
  expect(version.trim()).toBe(JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
  await run(path.join(prefix, 'bin/sam-amg'), [...demo(installed), '--out', fromPackage], { env, cwd: work });
  expect(readdirSync(fromPackage).sort()).toEqual(['.sam-amg-run.json', 'nested', 'shapes.json']);

  // The README's recipes: every shard of two into one folder, with the installed command (the container's)
  // and with `npx sam-amg` in the clone (the GitHub Actions job's), give the unsharded run's files; the clone's
  // (run by the clone's own bin/sam-amg.js, which npx runs) give the package's, so the package runs as the
  // repository does. One unsharded run, not one of each: each demo run is seconds of the tiny model on 2 cores.
  const sharded = { installed: path.join(work, 'sharded-installed'), npx: path.join(work, 'sharded-npx') };
  for (const shard of ['0/2', '1/2']) {
    await run(path.join(prefix, 'bin/sam-amg'), [...demo(installed), '--out', sharded.installed, '--shard', shard, '--json'], { env, cwd: work });
    await run('npx', ['--no-install', 'sam-amg', ...demo('.'), '--out', sharded.npx, '--shard', shard, '--json'], { env, cwd: ROOT });
  }
  for (const dir of Object.values(sharded)) {
    for (const rel of ['shapes.json', 'nested/rings.json', '.sam-amg-run.json']) {
      expect(readFileSync(path.join(dir, rel), 'utf8'), `${dir} ${rel}`).toBe(readFileSync(path.join(fromPackage, rel), 'utf8'));
    }
  }
});
