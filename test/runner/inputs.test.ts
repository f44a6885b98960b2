import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listInputs } from '../../src/runner/inputs.js';
import { parseShard, shardOfPath } from '../../src/output/shard.js';
import { spawn } from 'node:child_process';
import { ROOT, tempDir, testEnv, TINY, writeScenes } from '../helpers.js';

function tree(files: string[]): string {
  const dir = tempDir();
  for (const f of files) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    writeFileSync(path.join(dir, f), 'x');
  }
  return dir;
}

describe('listInputs', () => {
  it('walks folders recursively in name order, skipping and counting non-images', async () => {
    const dir = tree(['b/2.PNG', 'b/1.jpg', 'a.jpeg', 'notes.txt', 'c/d/e.webp', 'c/readme.md']);
    const list = await listInputs([dir]);
    expect(list.images.map((i) => i.relative)).toEqual(['a.jpeg', 'b/1.jpg', 'b/2.PNG', 'c/d/e.webp']);
    expect(list.skippedNonImages).toBe(2);
  });

  it('does not follow a symlink loop, and takes a file reached twice once', async () => {
    const dir = tree(['x/1.png']);
    symlinkSync(path.join(dir, 'x'), path.join(dir, 'x/loop'));
    symlinkSync(path.join(dir, 'x'), path.join(dir, 'y'));
    const list = await listInputs([dir, path.join(dir, 'x/1.png')]);
    expect(list.images.map((i) => i.relative)).toEqual(['x/1.png']);
  });

  it('expands glob patterns relative to their fixed folder', async () => {
    const dir = tree(['set/a/1.jpg', 'set/a/2.png', 'set/b/3.jpg', 'set/b/4.txt']);
    const list = await listInputs([`${dir}/set/**/*.jpg`]);
    expect(list.images.map((i) => i.relative)).toEqual(['a/1.jpg', 'b/3.jpg']);
    await expect(listInputs([`${dir}/none/*.jpg`])).rejects.toThrow('the pattern matches no files');
  });

  it('reads --list files relative to a root, skipping blanks and comments', async () => {
    const dir = tree(['imgs/p/1.jpg', 'imgs/2.png']);
    const listFile = path.join(dir, 'list.txt');
    writeFileSync(listFile, `# my images\nimgs/p/1.jpg\n\n  imgs/2.png  \nimgs/readme.txt\n/elsewhere/3.jpg\n`);
    const list = await listInputs({ paths: [], lists: [listFile], listRoot: dir });
    expect(list.images.map((i) => i.relative)).toEqual(['imgs/p/1.jpg', 'imgs/2.png', 'elsewhere/3.jpg']);
    expect(list.images[0].path).toBe(path.join(dir, 'imgs/p/1.jpg'));
    expect(list.skippedNonImages).toBe(1);
    const stdin = await listInputs({ paths: [], lists: ['-'], listRoot: dir, readStdin: async () => 'imgs/2.png\n' });
    expect(stdin.images.map((i) => i.relative)).toEqual(['imgs/2.png']);
  });

  it('names a missing path as a usage error', async () => {
    await expect(listInputs(['/definitely/not/here'])).rejects.toThrow('/definitely/not/here: no such file or folder');
  });
});

describe('sharding', () => {
  it('parses i/n and rejects anything else in the common message shape', () => {
    expect(parseShard('2/5')).toEqual({ index: 2, count: 5 });
    expect(() => parseShard('5/5')).toThrow('Expected a shard i/n with 0 <= i < n for --shard but received 5/5');
    expect(() => parseShard('x')).toThrow('for --shard but received x');
  });

  it('partitions by a stable hash of the relative path', () => {
    // sha256("a/b.jpg") starts 4a516362 = 1246847842 (Python's hashlib): 1 mod 3, 2 mod 8.
    expect(shardOfPath('a/b.jpg', 3)).toBe(1);
    expect(shardOfPath('a/b.jpg', 8)).toBe(2);
    const names = Array.from({ length: 300 }, (_, i) => `dir/${i}.jpg`);
    const counts = [0, 0, 0];
    for (const n of names) counts[shardOfPath(n, 3)]++;
    expect(counts.every((c) => c > 70)).toBe(true);
    expect(shardOfPath('dir/7.jpg', 3)).toBe(shardOfPath('dir/7.jpg', 3));
    expect(shardOfPath('x', 1)).toBe(0);
  });
});

describe('sam-amg --list -', () => {
  it('reads image paths from standard input', async () => {
    const dir = tempDir();
    await writeScenes(dir, 3);
    const out = tempDir();
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/sam-amg.js'), '--list', '-', '--root', dir, '--out', out,
      '--model', TINY, '--points-per-side', '4', '--json'], { stdio: ['pipe', 'pipe', 'pipe'], env: testEnv() });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stdin.end('a/scene-000.png\na/scene-002.png\n');
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    const done = stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.event === 'image_done');
    expect(done.map((e) => path.relative(out, e.output))).toEqual(['a/scene-000.json', 'a/scene-002.json']);
  });
});
