/**
 * `sam-amg status`: what an output folder holds, per shard, read while the
 * shards are still writing into it.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { folderStatus, type FolderStatus } from '../../src/output/folder-status.js';
import { shardOfPath } from '../../src/output/shard.js';
import { runCli, spawnCli, tempDir, TINY, writeScenes } from '../helpers.js';

const IMAGES = 16;

it('counts images done and failed per shard while two shards write, and spots foreign and unreadable outputs', async () => {
  const input = tempDir();
  const names = await writeScenes(input, IMAGES, [160, 120]);
  writeFileSync(path.join(input, 'b/broken.png'), 'not a png');
  const out = tempDir();
  const args = (shard: number) => [input, '--out', out, '--model', TINY, '--points-per-side', '8', '--shard', `${shard}/2`, '--json'];
  const written: Record<number, string[]> = { 0: [], 1: [] };
  const shards = [0, 1].map((i) => spawnCli(args(i), (line) => {
    const e = JSON.parse(line);
    if (e.event === 'image_done') written[i].push(e.path);
  }));
  let running = true;
  void Promise.all(shards.map((s) => s.done)).then(() => (running = false));

  // Read over and over while both write: every read is whole and consistent, and the counts only grow.
  const seen: FolderStatus[] = [];
  let duringWrites = 0;
  while (running) {
    const s = await folderStatus(out, 2);
    expect(s.unreadable).toEqual([]);
    expect(s.otherFingerprint).toBe(0);
    if (seen.length) expect(s.done).toBeGreaterThanOrEqual(seen[seen.length - 1].done);
    if (running && s.done > 0 && s.done < IMAGES) duringWrites++;
    seen.push(s);
    await new Promise((r) => setTimeout(r, 20));
  }
  const broken = shardOfPath('b/broken.png', 2);
  // Exit 1 for the shard whose image failed, 0 for the other.
  for (const i of [0, 1]) expect((await shards[i].done).code).toBe(i === broken ? 1 : 0);
  expect(duringWrites).toBeGreaterThan(0);

  const expected = [0, 1].map((i) => ({
    shard: `${i}/2`,
    done: names.filter((n) => shardOfPath(n, 2) === i).length,
    failed: i === broken ? 1 : 0,
  }));
  expect(expected.map((e) => e.done)).toEqual([written[0].length, written[1].length]);
  // As a user runs it; the shard count comes from the failures file the broken image's shard wrote.
  const res = await runCli(['status', out, '--json']);
  expect(res.code, res.stderr).toBe(0);
  const status = JSON.parse(res.stdout);
  expect(status.shards).toEqual(expected);
  expect([status.done, status.failed, status.other_fingerprint]).toEqual([IMAGES, 1, 0]);
  expect(status.fingerprint).toBe(JSON.parse(readFileSync(path.join(out, '.sam-amg-run.json'), 'utf8')).fingerprint);
  const plain = await runCli(['status', out]);
  expect(plain.stdout).toContain(`shard ${broken}/2: ${expected[broken].done} done, 1 failed`);
  expect(plain.stdout).toContain(`total: ${IMAGES} done, 1 failed`);

  // An output made with other settings, and a file that is no output, are reported (exit 1 for the unreadable one).
  const other = tempDir();
  const res2 = await runCli([path.join(input, names[0]), '--out', other, '--model', TINY, '--points-per-side', '4']);
  expect(res2.code, res2.stderr).toBe(0);
  copyFileSync(path.join(other, path.basename(names[0]).replace('.png', '.json')), path.join(out, 'foreign.json'));
  writeFileSync(path.join(out, 'a', 'torn.json'), '{"image": {');
  const after = await runCli(['status', out, '--json']);
  expect(after.code).toBe(1);
  const s = JSON.parse(after.stdout);
  expect(s.other_fingerprint).toBe(1);
  expect(s.unreadable).toEqual([{ path: path.join(out, 'a', 'torn.json'), reason: expect.stringMatching(/^not valid JSON/) }]);
  expect((await runCli(['status', path.join(out, 'nope')])).stderr).toMatch(/nope: no such folder/);
});
