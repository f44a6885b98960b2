import { createHash } from 'node:crypto';
import { UsageError } from '../errors.js';

/** Worker `index` of `count`, 0-based. */
export interface Shard {
  index: number;
  count: number;
}

export function parseShard(text: string, label = '--shard'): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || !(count >= 1) || !(index < count)) {
    // The value as given, without `of type string`: a shard is always text.
    throw new UsageError(`Expected a shard i/n with 0 <= i < n for ${label} but received ${text}`);
  }
  return { index, count };
}

/**
 * The shard an image belongs to: the first 4 bytes of sha256 of its
 * input-relative path, modulo the shard count. It depends on nothing else,
 * so every worker computes the same partition from the same input list.
 */
export function shardOfPath(relative: string, count: number): number {
  return createHash('sha256').update(relative, 'utf8').digest().readUInt32BE(0) % count;
}

export function shardName(shard: Shard | undefined): string | null {
  return shard ? `${shard.index}/${shard.count}` : null;
}
