/**
 * s3rver, the S3-protocol server the S3 tests run on loopback, with its file
 * store's PUT made to finish writing before it answers. s3rver 3.7.1 answers
 * once the body is handed to a write stream that has no error handler, and
 * its DELETE removes folders left empty: a PUT into a prefix that another
 * process's DELETE has just emptied then fails to open its file after the
 * answer, an uncaught exception in the test process (seen once in three CI
 * runs, with two shards probing one prefix at once). Here the PUT writes
 * the object and its metadata first, and writes again if the folder went away.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const S3rver = require('s3rver');
const FilesystemStore = require('s3rver/lib/stores/filesystem.js');

FilesystemStore.prototype.putObject = async function putObject(object) {
  let content = object.content;
  if (!Buffer.isBuffer(content)) {
    const chunks = [];
    for await (const chunk of content) chunks.push(Buffer.from(chunk));
    content = Buffer.concat(chunks);
  }
  const md5 = createHash('md5').update(content).digest('hex');
  const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
  for (let attempt = 0; ; attempt++) {
    try {
      await mkdir(path.dirname(objectPath), { recursive: true });
      await writeFile(objectPath, content);
      await this.putMetadata(object.bucket, object.key, object.metadata, md5);
      return { size: content.length, md5 };
    } catch (err) {
      if (err.code !== 'ENOENT' || attempt >= 5) throw err;
    }
  }
};

/*
 * s3rver keeps an object at path.join(its folder, bucket, ...key segments),
 * so a key with `..` segments (which S3 accepts) would be written outside
 * its folder, and `a//b` would become `a/b`. The hostile-name tests need such
 * keys stored faithfully: `..`, `.` and empty segments, and `&`, are kept
 * %-escaped on its disk (the escape s3rver itself uses on Windows).
 */
// An empty segment first or last (a prefix's trailing '/', the delimiter itself) is left as it is: path.join and s3rver's prefix matching expect it.
const escapeSegment = (s, k, all) => (s === '' ? (k > 0 && k < all.length - 1 ? '&' : '')
  : s.replace(/&/g, '&26').replace(/^\.{1,2}$/, (dots) => dots.replace(/\./g, '&2e')));
const unescapeSegment = (s) => (s === '&' ? '' : s.replace(/&([0-9a-f]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16))));
FilesystemStore.encodeKeyPath = (key) => key.split('/').map(escapeSegment).join('/');
FilesystemStore.decodeKeyPath = (keyPath) => keyPath.split('/').map(unescapeSegment).join('/');

/** Starts a server on 127.0.0.1 (port 0: any free one) with these buckets; resolves to it and its port. */
export async function startS3rver({ directory, buckets, port = 0 }) {
  const server = new S3rver({ port, address: '127.0.0.1', directory, silent: true, configureBuckets: buckets.map((name) => ({ name })) });
  const address = await server.run();
  return { server, port: address.port };
}

/**
 * Puts an object straight into a server's folder: for keys the SDK will not
 * send as they are (it resolves `..` segments in the request path), which S3
 * itself stores faithfully.
 */
export async function seedObject(directory, bucket, key, content) {
  const objectPath = FilesystemStore.prototype.getResourcePath.call({ rootDirectory: directory }, bucket, key, 'object');
  await mkdir(path.dirname(objectPath), { recursive: true });
  await writeFile(objectPath, content);
}
