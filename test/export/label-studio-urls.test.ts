import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportLabels } from '../../src/export/export.js';
import { imageLocation, labelStudioNotes, quotePath } from '../../src/export/label-studio.js';
import { toSa1b } from '../../src/output/sa1b.js';
import { encodeCountsString } from '../../src/rle/coco-string.js';
import { rleFromRowMajor } from '../../src/rle/rle.js';
import { tempDir } from '../helpers.js';

/**
 * Label Studio's local files (issue 29): the task's image URL,
 * `/data/local-files/?d=<path>`, as the browser sends it and Label Studio
 * reads it, must name the image's file under the document root.
 */

/** Each name's `urllib.parse.quote(name)`, from Python 3.11. */
const PYTHON_QUOTE: Record<string, string> = {
  'a b.jpg': 'a%20b.jpg',
  'x#1.jpg': 'x%231.jpg',
  'R&D.png': 'R%26D.png',
  '100%.png': '100%25.png',
  'why?.png': 'why%3F.png',
  'c++.png': 'c%2B%2B.png',
  'été.jpg': '%C3%A9t%C3%A9.jpg',
  '日本.png': '%E6%97%A5%E6%9C%AC.png',
  'emoji 😀.png': 'emoji%20%F0%9F%98%80.png',
  'sub dir/a+b #2.jpg': 'sub%20dir/a%2Bb%20%232.jpg',
  "it's (1)!*.jpg": 'it%27s%20%281%29%21%2A.jpg',
  '%20literal.png': '%2520literal.png',
  'semi;colon=1.png': 'semi%3Bcolon%3D1.png',
  'tilde~_-.png': 'tilde~_-.png',
};
const NAMES = Object.keys(PYTHON_QUOTE);

/** Python's `urllib.parse.unquote`: %XX sequences to bytes, read as UTF-8 (bad bytes replaced); `plus` turns '+' into ' ' first (`unquote_plus`, what parse_qs does). */
function unquote(text: string, plus = false): string {
  const s = plus ? text.replace(/\+/g, ' ') : text;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(s[i], 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * The file Label Studio serves for `url`: the browser sends what comes
 * before any `#`; Django's `request.GET` splits the query at `&`, each field
 * at its first `=`, and unquote_plus'es it; `localfiles_data` takes `d`,
 * normalises it (posixpath.normpath, leading '/' stripped) and joins it to
 * the document root (safe_join).
 */
function servedFile(url: string, documentRoot: string): string | undefined {
  const sent = url.split('#')[0];
  const query = sent.slice(sent.indexOf('?') + 1);
  const fields = new Map<string, string>();
  for (const field of query.split('&')) {
    const eq = field.indexOf('=');
    const key = unquote(eq < 0 ? field : field.slice(0, eq), true);
    if (!fields.has(key)) fields.set(key, unquote(eq < 0 ? '' : field.slice(eq + 1), true));
  }
  const d = fields.get('d');
  if (!d) return undefined;
  const relative = path.posix.normalize(d).replace(/^\/+/, '');
  const full = path.resolve(documentRoot, relative);
  return full.startsWith(`${path.resolve(documentRoot)}${path.sep}`) ? full : undefined;
}

/** label-studio-converter's `download` for a local-files URL: the text after `?d=`, `urllib.parse.unquote`d, under the document root. */
function converterFile(url: string, documentRoot: string): string {
  const dirPath = url.split('/data/').slice(1).join('/data/').split('?d=')[1];
  return path.join(documentRoot, unquote(dirPath));
}

function writeOutputs(out: string, names: string[]): void {
  const [w, h] = [4, 3];
  const mask = Uint8Array.from([0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0]);
  const segmentation = { size: [h, w] as [number, number], counts: encodeCountsString(rleFromRowMajor(mask, h, w).counts) };
  for (const [k, file_name] of names.entries()) {
    const record = { segmentation, area: 4, bbox: [1, 0, 1, 1] as [number, number, number, number], predicted_iou: 0.9,
      point_coords: [[1, 0]] as [[number, number]], stability_score: 0.9, crop_box: [0, 0, w, h] as [number, number, number, number] };
    const target = path.join(out, `${String(k).padStart(2, '0')}.json`);
    writeFileSync(target, JSON.stringify(toSa1b([record], { width: w, height: h, file_name })));
  }
}

describe('Label Studio image URLs', () => {
  it('escapes a name as Python\'s urllib.parse.quote does, the way Label Studio\'s own Local Files sync writes it', () => {
    for (const name of NAMES) expect(quotePath(name), name).toBe(PYTHON_QUOTE[name]);
    expect(imageLocation('/data/local-files/?d=images/', 'sub dir/a+b #2.jpg')).toBe('/data/local-files/?d=images/sub%20dir/a%2Bb%20%232.jpg');
    expect(imageLocation('https://host/images/', 'a b#1.jpg')).toBe('https://host/images/a%20b%231.jpg');
    // Cloud storage keys are taken as written (urlparse(uri).path, not unescaped).
    expect(imageLocation('s3://bucket/images/', 'a b+c.jpg')).toBe('s3://bucket/images/a b+c.jpg');
    expect(imageLocation('gs://bucket/', 'été.jpg')).toBe('gs://bucket/été.jpg');
  });

  it('every task\'s URL, read as Label Studio and label-studio-converter read it, names the image under the document root', async () => {
    const root = realpathSync(tempDir());
    const documentRoot = path.join(root, 'data');
    const images = path.join(documentRoot, 'images');
    for (const name of NAMES) {
      mkdirSync(path.dirname(path.join(images, name)), { recursive: true });
      writeFileSync(path.join(images, name), name);
    }
    const out = path.join(root, 'masks');
    mkdirSync(out);
    writeOutputs(out, NAMES);
    const to = path.join(root, 'ls');
    const summary = await exportLabels({ out, format: 'labelstudio', to, imageRoot: '/data/local-files/?d=images/' });
    expect(summary).toMatchObject({ images: NAMES.length, failed: [] });
    const tasks = JSON.parse(readFileSync(path.join(to, 'tasks.json'), 'utf8')) as { data: { image: string } }[];
    expect(tasks).toHaveLength(NAMES.length);
    for (const [k, task] of tasks.entries()) {
      const name = NAMES[k];
      const url = task.data.image;
      expect(url, name).toBe(`/data/local-files/?d=images/${PYTHON_QUOTE[name]}`);
      const served = servedFile(url, documentRoot);
      expect(served, url).toBe(path.join(images, name));
      expect(existsSync(served!) && readFileSync(served!, 'utf8'), url).toBe(name);
      expect(converterFile(url, documentRoot), url).toBe(path.join(images, name));
    }
  });

  it('the names written as they are would not all come back: the check above can fail', () => {
    const documentRoot = '/data';
    const raw = (name: string) => servedFile(`/data/local-files/?d=images/${name}`, documentRoot);
    expect(raw('c++.png')).toBe('/data/images/c  .png');
    expect(raw('x#1.jpg')).toBe('/data/images/x');
    expect(raw('R&D.png')).toBe('/data/images/R');
    expect(raw('100%.png')).toBe('/data/images/100%.png');
    expect(raw('%20literal.png')).toBe('/data/images/ literal.png');
  });

  it('without --image-root, one line says data.image is a bare name and what to pass; a prefix ending in neither / nor = is named', () => {
    const [note, ...more] = labelStudioNotes(undefined, 'a b.jpg');
    expect(more).toEqual([]);
    expect(note).not.toContain('\n');
    expect(note).toContain('"a%20b.jpg"');
    expect(note).toContain("--image-root '/data/local-files/?d=IMAGES/'");
    expect(labelStudioNotes('', 'a.jpg')).toHaveLength(1);
    expect(labelStudioNotes('/data/local-files/?d=images', 'a.jpg'))
      .toEqual(['--image-root /data/local-files/?d=images ends in neither / nor =, so the names run into it: data.image is "/data/local-files/?d=imagesa.jpg"']);
    expect(labelStudioNotes('/data/local-files/?d=images/', 'a.jpg')).toEqual([]);
    expect(labelStudioNotes('/data/local-files/?d=', 'a.jpg')).toEqual([]);
    expect(labelStudioNotes('s3://bucket/', 'a.jpg')).toEqual([]);
  });

  it('the export says it once, in its notes, and only without a usable --image-root', async () => {
    const out = tempDir();
    writeOutputs(out, ['a b.jpg', 'c.jpg']);
    const bare = await exportLabels({ out, format: 'labelstudio', to: path.join(tempDir(), 'ls') });
    expect(bare.notes).toEqual(labelStudioNotes(undefined, 'a b.jpg'));
    const rooted = await exportLabels({ out, format: 'labelstudio', to: path.join(tempDir(), 'ls'), imageRoot: '/data/local-files/?d=images/' });
    expect(rooted.notes).toEqual([]);
  });
});
