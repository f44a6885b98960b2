import path from 'node:path';
import { isHttp, isS3, joinLocation, parseS3 } from '../storage/location.js';

/**
 * Names that come from data (a folder's file names, S3 keys, URLs, `--list`
 * lines, the `file_name` of an output read back) become places in a
 * destination only through this rule: a relative path of plain segments,
 * joined to the destination and checked to lie inside it. Whoever names a
 * bucket's objects or writes an output file must not be able to write, read
 * or delete anywhere else on the labelling machine.
 */

/** A name from data that cannot be placed inside its destination; the message says why in a few words. */
export class UnsafeNameError extends Error {
  override name = 'UnsafeNameError';
}

/** Longest name taken from data, in characters: far beyond any file system's path limit. */
export const MAX_NAME_LENGTH = 4096;

function segmentsOf(name: string): string[] {
  // On Windows both separators split a path; on POSIX a backslash is a plain character of a name.
  return name.split(path.sep === '\\' ? /[\\/]/ : '/');
}

/**
 * `name` as a relative path of plain segments: empty and `.` segments
 * dropped (`a//./b` is `a/b`, a leading `/` goes), a `..` segment or a NUL
 * refused. Throws UnsafeNameError.
 */
export function plainRelativeName(name: string): string {
  if (typeof name !== 'string') throw new UnsafeNameError(`name ${JSON.stringify(name)} is not a string`);
  if (name.length > MAX_NAME_LENGTH) throw new UnsafeNameError(`name of ${name.length} characters is longer than ${MAX_NAME_LENGTH}`);
  if (name.includes('\0')) throw new UnsafeNameError(`name ${JSON.stringify(name)} holds a NUL character`);
  const segments = segmentsOf(name).filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) throw new UnsafeNameError(`name ${JSON.stringify(name)} climbs out of its folder with ..`);
  if (segments.length === 0) throw new UnsafeNameError(`name ${JSON.stringify(name)} names no file`);
  return segments.join('/');
}

/** Whether `name` is already a relative path of plain segments, as sam-amg writes every `file_name`. */
export function isPlainRelativeName(name: unknown): name is string {
  if (typeof name !== 'string') return false;
  try {
    return plainRelativeName(name) === name;
  } catch {
    return false;
  }
}

/** Whether `location` is `base` itself or lies under it (both local paths, or both S3 or URL locations). */
export function liesInside(base: string, location: string): boolean {
  if (isS3(base) || isHttp(base)) {
    const root = base.replace(/\/+$/, '');
    if (isS3(base) && parseS3(base).bucket !== parseS3(location).bucket) return false;
    return location === root || location.startsWith(`${root}/`);
  }
  const relative = path.relative(path.resolve(base), path.resolve(location));
  return relative === '' || (!relative.startsWith(`..${path.sep}`) && relative !== '..' && !path.isAbsolute(relative));
}

/**
 * `relative` (a name from data) joined to `base`, after the rule above,
 * and checked to lie strictly inside `base`. Throws UnsafeNameError.
 */
export function placeInside(base: string, relative: string): string {
  const plain = plainRelativeName(relative);
  const location = joinLocation(base, ...plain.split('/'));
  if (!liesInside(base, location) || location.replace(/\/+$/, '') === base.replace(/\/+$/, '')) {
    throw new UnsafeNameError(`name ${JSON.stringify(relative)} does not lie inside ${base}`);
  }
  return location;
}
