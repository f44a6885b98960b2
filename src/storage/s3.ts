/**
 * S3 and S3-compatible stores (MinIO, Ceph, R2) through the AWS SDK, which
 * is loaded only when an `s3://` location is used, so local runs start as
 * fast as before. Credentials, region and endpoint are the SDK's and the AWS
 * CLI's: environment variables, profiles, web identity, container and
 * instance roles.
 */
import type { S3Client } from '@aws-sdk/client-s3';

type Sdk = typeof import('@aws-sdk/client-s3');

/** Where the SDK looks for credentials, for the message when it finds none. */
export const CREDENTIAL_SOURCES = 'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE (~/.aws/credentials and ~/.aws/config), ' +
  'AWS_WEB_IDENTITY_TOKEN_FILE, the container and instance metadata';

/** The endpoint of an S3-compatible store, as the AWS CLI takes it; none means AWS itself. */
export function endpointFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
}

let loaded: Promise<{ sdk: Sdk; client: S3Client }> | undefined;

/** The one client of this process, made on first use. */
export function s3(): Promise<{ sdk: Sdk; client: S3Client }> {
  loaded ??= (async () => {
    // The SDK warns on stderr about Node versions of its future releases; a run's stderr is for its own lines.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const sdk = await import('@aws-sdk/client-s3');
    const endpoint = endpointFromEnv();
    const client = new sdk.S3Client({
      region: process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1',
      // A bucket in another region than the one configured answers with a redirect the client follows.
      followRegionRedirects: true,
      ...(endpoint ? { endpoint } : {}),
      // Stores at an endpoint of their own (MinIO's default) name the bucket in the path, not the host name.
      forcePathStyle: !!endpoint || process.env.AWS_S3_FORCE_PATH_STYLE === 'true',
      requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000 },
    });
    return { sdk, client };
  })();
  return loaded;
}

/** What the store said, in a few words that name the setting to look at. */
export function describeS3Error(err: unknown, bucket?: string): string {
  const e = err as Error & { Code?: string; code?: string; $metadata?: { httpStatusCode?: number }; cause?: { code?: string } };
  const name = e?.name ?? '';
  const status = e?.$metadata?.httpStatusCode;
  const code = e?.code ?? e?.cause?.code;
  if (name === 'CredentialsProviderError') return `no AWS credentials found (looked at ${CREDENTIAL_SOURCES})`;
  if (name === 'InvalidAccessKeyId') return 'the store does not know this access key (AWS_ACCESS_KEY_ID)';
  if (name === 'SignatureDoesNotMatch') return 'the store refused the request signature: wrong secret key (AWS_SECRET_ACCESS_KEY)';
  if (name === 'InvalidToken' || name === 'ExpiredToken') return `the session token was refused (${name}; AWS_SESSION_TOKEN)`;
  if (name === 'AccessDenied' || status === 403) return 'access denied';
  if (name === 'NoSuchBucket') return `no such bucket${bucket ? ` ${bucket}` : ''}`;
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) return 'no such object';
  if (code && /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH)$/.test(code)) {
    return `cannot reach the store at ${endpointFromEnv() ?? 'AWS'} (${code})`;
  }
  if (name === 'TimeoutError' || name === 'RequestTimeout') return `the store did not answer in time (${endpointFromEnv() ?? 'AWS'})`;
  const message = String(e?.message ?? err).split('\n')[0];
  return name && name !== 'Error' && !message.includes(name) ? `${name}: ${message}` : message;
}

export function isMissing(err: unknown): boolean {
  const e = err as Error & { $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || (e?.$metadata?.httpStatusCode === 404 && e?.name !== 'NoSuchBucket');
}

export interface S3Object {
  key: string;
  size: number;
}

/** Every object whose key starts with `prefix` (with `top`, none with a further '/'), in key order (the store's: by UTF-8 bytes). */
export async function listObjects(bucket: string, prefix: string, top = false): Promise<S3Object[]> {
  const { sdk, client } = await s3();
  const found: S3Object[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token, ...(top ? { Delimiter: '/' } : {}) }));
    for (const o of page.Contents ?? []) if (o.Key !== undefined) found.push({ key: o.Key, size: o.Size ?? 0 });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return found;
}

export class ObjectTooLarge extends Error {
  constructor(readonly size: number) {
    super(`object of ${size} bytes over the limit`);
  }
}

/** An object's bytes; an object over `maxBytes` is refused before its body is read. */
export async function getObject(bucket: string, key: string, maxBytes = Infinity): Promise<Buffer> {
  const { sdk, client } = await s3();
  const got = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }));
  if ((got.ContentLength ?? 0) > maxBytes) {
    got.Body?.transformToWebStream().cancel().catch(() => undefined);
    throw new ObjectTooLarge(got.ContentLength!);
  }
  return Buffer.from(await got.Body!.transformToByteArray());
}

export async function putObject(bucket: string, key: string, body: string | Uint8Array): Promise<void> {
  const { sdk, client } = await s3();
  await client.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: key, Body: typeof body === 'string' ? Buffer.from(body) : body }));
}

/**
 * Writes an object only where there is none (S3's conditional write,
 * If-None-Match: *); false when one is there. A store that does not offer
 * conditional writes ignores the condition and the write happens.
 */
export async function putObjectIfAbsent(bucket: string, key: string, body: string | Uint8Array): Promise<boolean> {
  const { sdk, client } = await s3();
  try {
    await client.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: key, Body: typeof body === 'string' ? Buffer.from(body) : body, IfNoneMatch: '*' }));
    return true;
  } catch (err) {
    const e = err as Error & { $metadata?: { httpStatusCode?: number } };
    // 412: there is one; 409: another conditional write to the key is under way.
    if (e?.name === 'PreconditionFailed' || e?.$metadata?.httpStatusCode === 412 || e?.$metadata?.httpStatusCode === 409) return false;
    throw err;
  }
}

export async function deleteObject(bucket: string, key: string): Promise<void> {
  const { sdk, client } = await s3();
  await client.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key: key }));
}

export async function objectExists(bucket: string, key: string): Promise<boolean> {
  const { sdk, client } = await s3();
  try {
    await client.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (err) {
    if (isMissing(err)) return false;
    throw err;
  }
}
