import { describe, expect, it } from 'vitest';
import { urlRelative } from '../../src/runner/inputs.js';
import { byWalkOrder, joinLocation, parentOf, parseS3, relativeTo } from '../../src/storage/location.js';
import { describeS3Error } from '../../src/storage/s3.js';

describe('locations: disk paths and s3:// addresses', () => {
  it('parses bucket and key, with or without slashes at the ends', () => {
    expect(parseS3('s3://data')).toEqual({ bucket: 'data', key: '' });
    expect(parseS3('s3://data/')).toEqual({ bucket: 'data', key: '' });
    expect(parseS3('s3://data/images/')).toEqual({ bucket: 'data', key: 'images' });
    expect(parseS3('s3://data/a/b c/d.png')).toEqual({ bucket: 'data', key: 'a/b c/d.png' });
  });

  it('joins with "/" on S3 (path.join would make s3:// into s3:/) and with path.join on disk', () => {
    expect(joinLocation('s3://data/masks', 'a', 'b.json')).toBe('s3://data/masks/a/b.json');
    expect(joinLocation('s3://data/masks/', 'a/b.json')).toBe('s3://data/masks/a/b.json');
    expect(joinLocation('s3://data', '.sam-amg-run.json')).toBe('s3://data/.sam-amg-run.json');
    expect(joinLocation('masks', 'a', 'b.json')).toBe('masks/a/b.json');
    expect(joinLocation('https://example.com/photos/', 'a/café au lait.jpg')).toBe('https://example.com/photos/a/caf%C3%A9%20au%20lait.jpg');
    expect(parentOf('s3://data/masks/a/b.json')).toBe('s3://data/masks/a');
    expect(parentOf('s3://data/b.json')).toBe('s3://data');
    expect(relativeTo('s3://data/masks', 's3://data/masks/a/b.json')).toBe('a/b.json');
    expect(relativeTo('masks', 'masks/a/b.json')).toBe('a/b.json');
  });

  it('sorts keys as a folder walk sorted by name does, not as plain strings', () => {
    // '-' and '.' sort before '/': as strings a-x.json and a.json would come before a/b.json.
    const keys = ['a.json', 'a/b.json', 'a-x.json', 'b.json', 'a/a/c.json'];
    expect([...keys].sort()).toEqual(['a-x.json', 'a.json', 'a/a/c.json', 'a/b.json', 'b.json']);
    expect([...keys].sort(byWalkOrder)).toEqual(['a/a/c.json', 'a/b.json', 'a-x.json', 'a.json', 'b.json']);
  });

  it('names a URL by host and path: port as _port, no query, %-escapes decoded, / in a segment kept out', () => {
    expect(urlRelative('https://example.com/a/b.jpg')).toBe('example.com/a/b.jpg');
    expect(urlRelative('http://127.0.0.1:8080/img/x.png?sig=abc#frag')).toBe('127.0.0.1_8080/img/x.png');
    expect(urlRelative('https://example.com/photos/caf%C3%A9%20au%20lait.jpg')).toBe('example.com/photos/café au lait.jpg');
    expect(urlRelative('https://example.com/a%2Fb.jpg')).toBe('example.com/a_b.jpg');
    expect(urlRelative('https://example.com/')).toBe('example.com/index');
    expect(urlRelative('https://example.com/a/../b/./c.jpg')).toBe('example.com/b/c.jpg');
  });

  it('tells what the store said in words that name the setting to look at', () => {
    const s3Error = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
    expect(describeS3Error(s3Error('NoSuchBucket', 404), 'data')).toBe('no such bucket data');
    expect(describeS3Error(s3Error('AccessDenied', 403))).toBe('access denied');
    expect(describeS3Error(s3Error('InvalidAccessKeyId', 403))).toBe('the store does not know this access key (AWS_ACCESS_KEY_ID)');
    expect(describeS3Error(Object.assign(new Error('x'), { name: 'CredentialsProviderError' }))).toMatch(/^no AWS credentials found \(looked at AWS_ACCESS_KEY_ID/);
    expect(describeS3Error(Object.assign(new Error('Service Unavailable'), { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } })))
      .toBe('ServiceUnavailable: Service Unavailable');
  });
});
