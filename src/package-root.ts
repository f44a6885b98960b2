import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** This package's folder: the nearest parent holding sam-amg's package.json (works from src/ and dist/src/). */
function findPackageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file) && JSON.parse(readFileSync(file, 'utf8')).name === 'sam-amg') return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the sam-amg package folder');
    dir = parent;
  }
}

export const PACKAGE_ROOT = findPackageRoot();
