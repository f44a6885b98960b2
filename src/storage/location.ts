import path from 'node:path';

/**
 * Where a command reads or writes: a local path, an `s3://bucket/key`
 * address, or an `http(s)://` URL (read only). Locations are strings so that
 * messages, events and outputs name them exactly as the user gave them.
 */

export function isS3(location: string): boolean {
  return location.startsWith('s3://');
}

export function isHttp(location: string): boolean {
  return /^https?:\/\//i.test(location);
}

export interface S3Address {
  bucket: string;
  /** The key or prefix, without a leading or trailing '/' ('' for the whole bucket). */
  key: string;
}

export function parseS3(location: string): S3Address {
  const rest = location.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const key = slash < 0 ? '' : rest.slice(slash + 1).replace(/^\/+|\/+$/g, '');
  return { bucket, key };
}

export function s3Location(bucket: string, key: string): string {
  return key ? `s3://${bucket}/${key}` : `s3://${bucket}`;
}

/** `base` joined with '/'-separated parts: path.join on disk (which would turn `s3://` into `s3:/`), '/' joins on S3 and in URLs (each part %-escaped). */
export function joinLocation(base: string, ...parts: string[]): string {
  if (isHttp(base)) {
    const rest = parts.flatMap((p) => p.split('/')).filter(Boolean).map(encodeURIComponent);
    return [base.replace(/\/+$/, ''), ...rest].join('/');
  }
  if (!isS3(base)) return path.join(base, ...parts);
  const { bucket, key } = parseS3(base);
  const rest = parts.flatMap((p) => p.split('/')).filter(Boolean);
  return s3Location(bucket, [key, ...rest].filter(Boolean).join('/'));
}

/** The folder a location is in. */
export function parentOf(location: string): string {
  if (!isS3(location)) return path.dirname(location);
  const { bucket, key } = parseS3(location);
  return s3Location(bucket, key.split('/').slice(0, -1).join('/'));
}

/** The '/'-separated name of `location` inside folder `base` (as path.relative gives on disk). */
export function relativeTo(base: string, location: string): string {
  if (!isS3(base)) return path.relative(base, location).split(path.sep).join('/');
  const prefix = `${base.replace(/\/+$/, '')}/`;
  return location.startsWith(prefix) ? location.slice(prefix.length) : location;
}

/** Compares '/'-separated names segment by segment: the order a folder walk sorted by name gives. */
export function byWalkOrder(a: string, b: string): number {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return x.length - y.length;
}
