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

/** Starts a server on 127.0.0.1 (port 0: any free one) with these buckets; resolves to it and its port. */
export async function startS3rver({ directory, buckets, port = 0 }) {
  const server = new S3rver({ port, address: '127.0.0.1', directory, silent: true, configureBuckets: buckets.map((name) => ({ name })) });
  const address = await server.run();
  return { server, port: address.port };
}
