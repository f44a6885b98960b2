import path from 'node:path';
import { isHttp, isS3, joinLocation, parseS3 } from '../storage/location.js';
import type { OutputFormat } from './run-identity.js';

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
  // A plain name has a segment, so the place is never `base` itself: inside is strictly inside.
  if (!liesInside(base, location)) {
    throw new UnsafeNameError(`name ${JSON.stringify(relative)} does not lie inside ${base}`);
  }
  return location;
}

/** Records what an output folder holds, written by the first run into it (see manifest.ts). */
export const MANIFEST_FILE = '.sam-amg-run.json';

/** `failures.jsonl` of an unsharded run, `failures-<i>-of-<n>.jsonl` of shard i of n. */
export function failuresFileName(shard?: { index: number; count: number }): string {
  return shard ? `failures-${shard.index}-of-${shard.count}.jsonl` : 'failures.jsonl';
}

/**
 * Where an image's output goes, mirroring the input folders:
 * `<out>/<relative path without extension>.json`, or that path without
 * `.json` as a folder for the PNG format. The name comes from data, so it
 * goes through the rule above: an UnsafeNameError when it cannot be placed.
 */
export function outputPathFor(outDir: string, relativePath: string, format: OutputFormat = 'json'): string {
  return placeInside(outDir, withExtension(relativePath, format === 'json' ? '.json' : ''));
}

/**
 * A name from data with its extension replaced (`a/b.jpg` → `a/b.txt`,
 * or `a/b` for ''), as outputs, labels and overlays are named after their
 * image. Throws UnsafeNameError for a name the rule refuses, and for one
 * whose stem is `.` (`a/..png`): without an extension it would be its folder.
 */
export function withExtension(name: string, extension: string): string {
  const parsed = path.posix.parse(plainRelativeName(name));
  const base = `${parsed.name}${extension}`;
  if (base === '.' || base === '..') throw new UnsafeNameError(`name ${JSON.stringify(name)} has no stem to name its output by`);
  return parsed.dir ? `${parsed.dir}/${base}` : base;
}

/** An image's place in the output folder, or why it has none. */
export type OutputPlace = { out: string } | { refused: string };

/**
 * The output of every image of a listing, in its order: the place
 * outputPathFor gives, or the reason it has none (its name cannot be
 * placed; another image, earlier in the listing, has that output or a
 * folder around it or inside it; the name is one the run keeps for
 * itself). Every shard plans the whole listing, so all agree on who owns
 * what.
 */
export function planOutputs(images: readonly { path: string; relative: string; unplaceable?: string }[], outDir: string,
  format: OutputFormat, reservedNames: readonly string[]): OutputPlace[] {
  const reserved = new Set(reservedNames.map((name) => joinLocation(outDir, name)));
  const owners = new Map<string, string>();
  // Every folder above an owned output, with the image that owns what is inside.
  const around = new Map<string, string>();
  const parentOf = (location: string) => location.slice(0, Math.max(0, location.lastIndexOf('/')));
  return images.map((image) => {
    if (image.unplaceable) return { refused: `${image.unplaceable}, so it has no place in ${outDir}` };
    let out: string;
    try {
      out = outputPathFor(outDir, image.relative, format);
    } catch (err) {
      if (!(err instanceof UnsafeNameError)) throw err;
      return { refused: `${err.message}, so it has no place in ${outDir}` };
    }
    const key = out.split(path.sep).join('/');
    const owner = owners.get(key);
    if (owner) return { refused: `output ${out} is already the output of ${owner}; rename one of them` };
    if (reserved.has(out)) return { refused: `output ${out} is a name sam-amg keeps for itself; rename the image` };
    const inside = around.get(key);
    if (inside) return { refused: `output ${out} would hold the output of ${inside}; rename one of them` };
    for (let dir = parentOf(key); dir.length > 0; dir = parentOf(dir)) {
      const outer = owners.get(dir);
      if (outer) return { refused: `output ${out} would lie inside the output of ${outer}; rename one of them` };
    }
    owners.set(key, image.path);
    for (let dir = parentOf(key); dir.length > 0 && !around.has(dir); dir = parentOf(dir)) around.set(dir, image.path);
    return { out };
  });
}
