import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeFolder } from '../../src/storage/remove-folder.js';
import { snapshotTree, tempDir } from '../helpers.js';

describe('removeFolder', () => {
  it('removes a folder and all it holds, links themselves and never what they point to', async () => {
    const root = tempDir();
    const outside = path.join(root, 'outside');
    mkdirSync(path.join(outside, 'inner'), { recursive: true });
    writeFileSync(path.join(outside, 'keep.txt'), 'mine');
    writeFileSync(path.join(outside, 'inner', 'deep.txt'), 'mine too');
    const before = snapshotTree(outside);
    const doomed = path.join(root, 'doomed');
    // More files in one folder than are removed at once, folders in folders, and links out.
    mkdirSync(doomed);
    for (let i = 0; i < 500; i++) writeFileSync(path.join(doomed, `${i}.js`), String(i));
    mkdirSync(path.join(doomed, 'a/b/c'), { recursive: true });
    writeFileSync(path.join(doomed, 'a/b/c/x.jpg'), 'x');
    symlinkSync(outside, path.join(doomed, 'a/link-to-folder'));
    symlinkSync(path.join(outside, 'keep.txt'), path.join(doomed, 'link-to-file'));
    symlinkSync(path.join(root, 'nowhere'), path.join(doomed, 'dangling'));
    await removeFolder(doomed);
    expect(existsSync(doomed)).toBe(false);
    expect(snapshotTree(outside)).toEqual(before);
    expect(readFileSync(path.join(outside, 'keep.txt'), 'utf8')).toBe('mine');
  });

  it('does nothing where there is nothing, and removes a file named as the folder', async () => {
    const root = tempDir();
    await removeFolder(path.join(root, 'absent'));
    writeFileSync(path.join(root, 'file'), 'x');
    await removeFolder(path.join(root, 'file'));
    expect(existsSync(path.join(root, 'file'))).toBe(false);
  });
});
