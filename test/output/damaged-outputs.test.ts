/**
 * Damaged per-image files, run manifests and failures files, read by the
 * real CLI: each bad file is named in one line and skipped (exit 1), no
 * stack trace, the destination whole and holding exactly the good images,
 * the printed counts what was written, and nothing written anywhere else.
 */
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CocoWriter } from '../../src/export/coco.js';
import { readFailuresFiles } from '../../src/output/failures-files.js';
import type { Sa1bFile } from '../../src/output/sa1b.js';
import { decodeCountsString, encodeCountsString } from '../../src/rle/coco-string.js';
import { expectTreeKept, runCli, snapshotTree, tempDir, TINY, writeScenes, type CliResult } from '../helpers.js';

const STACK_LINE = /^\s+at /m;

/** Every file under `dir`, relative, sorted. */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
}

function noStackTrace(res: CliResult): void {
  expect(res.stderr).not.toMatch(STACK_LINE);
  expect(res.stdout).not.toMatch(STACK_LINE);
}

/** `counts` with its last run `extra` pixels longer. */
function lengthenLastRun(counts: string, extra: number): string {
  const runs = decodeCountsString(counts);
  runs[runs.length - 1] += extra;
  return encodeCountsString(runs);
}

describe('readers of damaged outputs', () => {
  // All the test writes lies under root; destinations three levels down, so a name that climbs out of one stays inside root, where it would be seen.
  let root: string;
  let work: string;
  let out: string;
  let images: string;
  let good: { path: string; data: Sa1bFile }[];
  /** The damaged files, in the order a folder walk lists them, with the line each must be named in. */
  let bad: { path: string; reason: string }[];
  let masks: number;

  beforeAll(async () => {
    root = tempDir('sam-amg-damaged-');
    work = path.join(root, 'a', 'b', 'c');
    images = path.join(work, 'images');
    out = path.join(work, 'out');
    mkdirSync(images, { recursive: true });
    const names = await writeScenes(images, 4);
    const run = await runCli([images, '--out', out, '--model', TINY, '--points-per-side', '4']);
    expect(run.code, run.stderr).toBe(0);
    good = names.map((n) => {
      const file = path.join(out, n.replace(/\.png$/, '.json'));
      return { path: file, data: JSON.parse(readFileSync(file, 'utf8')) as Sa1bFile };
    });
    masks = good.reduce((n, g) => n + g.data.annotations.length, 0);
    const template = [...good].sort((x, y) => y.data.annotations.length - x.data.annotations.length)[0];
    expect(template.data.annotations.length).toBeGreaterThan(0);
    const text = JSON.stringify(template.data);
    const damaged = (edit: (f: any) => void) => {
      const f = JSON.parse(text);
      // Two annotations at least, so one that is not the first can be damaged.
      if (f.annotations.length < 2) f.annotations.push({ ...f.annotations[0], id: 2 });
      f.image.image_id += 1;
      edit(f);
      return JSON.stringify(f);
    };
    const torn = text.slice(0, 100);
    let tornError = '';
    try {
      JSON.parse(torn);
    } catch (err) {
      tornError = (err as Error).message.split('\n')[0];
    }
    const huge = encodeCountsString([0, 4e9, 4e9, 4e9, 4e9, 4e9, 4e9, 4e9]);
    expect(huge).toHaveLength(20);
    const cases: [string, string, string][] = [
      ['1-no-segmentation', damaged((f) => delete f.annotations[1].segmentation), 'annotations[1].segmentation: missing'],
      ['2-no-point-coords', damaged((f) => delete f.annotations[0].point_coords), 'annotations[0].point_coords: missing'],
      ['3-name-number', damaged((f) => (f.image.file_name = 7)), 'image.file_name: expected a string, got 7'],
      ['4-name-nul', damaged((f) => (f.image.file_name = 'a/x\0.png')), 'image.file_name: "a/x\\u0000.png" is not a relative path of plain segments'],
      ['5-name-climbs', damaged((f) => (f.image.file_name = '../../../tmp/x.png')), 'image.file_name: "../../../tmp/x.png" is not a relative path of plain segments'],
      ['6-huge-runs', damaged((f) => (f.annotations[0].segmentation.counts = huge)),
        'annotations[0].segmentation.counts: run 1 at character 1 is 4000000000 pixels, more than 48×64 = 3072'],
      ['7-wrong-sum', damaged((f) => (f.annotations[0].segmentation.counts = lengthenLastRun(f.annotations[0].segmentation.counts, 100))),
        'annotations[0].segmentation.counts: runs sum to 3172 pixels, not 48×64 = 3072'],
      ['8-torn', torn, `not valid JSON (${tornError})`],
    ];
    mkdirSync(path.join(out, 'bad'));
    bad = cases.map(([name, content, reason]) => {
      const file = path.join(out, 'bad', `${name}.json`);
      writeFileSync(file, content);
      return { path: file, reason };
    });
  }, 120_000);

  /** What every command must have said of the bad files, one line each, as `prefix<file>: <reason>`. */
  const namedLines = (prefix: string) => bad.map((b) => `${prefix}${b.path}: ${b.reason}`);

  it('merge, export (coco, yolo, labelstudio, labelmap), inspect and report skip each bad file in one line and write exactly the good ones', async () => {
    const before = snapshotTree(root);
    const dest = (name: string) => path.join(work, name);
    const [merge, coco, yolo, labelstudio, labelmap, inspect, report] = await Promise.all([
      runCli(['merge', out, '--coco', dest('merge.json')]),
      runCli(['export', out, '--format', 'coco', '--to', dest('export.json')]),
      runCli(['export', out, '--format', 'yolo', '--to', dest('labels')]),
      runCli(['export', out, '--format', 'labelstudio', '--to', dest('ls'), '--image-root', '/data/local-files/?d=images/']),
      runCli(['export', out, '--format', 'labelmap', '--to', dest('maps')]),
      runCli(['inspect', out, '--json', '--viz', dest('viz'), '--images', images]),
      runCli(['report', out, '--to', dest('report'), '--images', images, '--quiet']),
    ]);
    const skipped = `; ${bad.length} files skipped`;
    const expectStderr = (res: CliResult, summary: string) => {
      noStackTrace(res);
      expect(res.code, res.stderr).toBe(1);
      expect(res.stderr).toBe([...namedLines('sam-amg: '), summary].join('\n') + '\n');
    };
    expectStderr(merge, `sam-amg: merged 4 images and ${masks} annotations into ${dest('merge.json')}${skipped}`);
    expectStderr(coco, `sam-amg: exported 4 images and ${masks} masks as coco to ${dest('export.json')}${skipped}`);
    expectStderr(yolo, `sam-amg: exported 4 images and ${masks} masks as yolo to ${dest('labels')}${skipped}`);
    expectStderr(labelstudio, `sam-amg: exported 4 images and ${masks} masks as labelstudio to ${dest('ls')}${skipped}`);
    const labelled = labelmap.stderr.match(/; [\d.]+ % of pixels labelled/)?.[0];
    expectStderr(labelmap, `sam-amg: exported 4 images and ${masks} masks as labelmap to ${dest('maps')}${labelled}${skipped}`);
    noStackTrace(inspect);
    expect(inspect.code, inspect.stderr).toBe(1);
    expect(inspect.stderr).toBe(namedLines('sam-amg: ').join('\n') + '\n');
    expect(JSON.parse(inspect.stdout)).toMatchObject({ images: 4, masks });
    // The report's own lines are its engineer's; here only that each bad file is named once, the same way.
    noStackTrace(report);
    expect(report.code, report.stderr).toBe(1);
    for (const line of namedLines('sam-amg: ')) expect(report.stderr.split('\n').filter((l) => l === line), line).toHaveLength(1);
    for (const b of bad) expect(report.stderr.split('\n').filter((l) => l.includes(b.path)), b.path).toHaveLength(1);

    // Both COCO files: valid JSON holding the good images and all their annotations, numbered from 1.
    for (const name of ['merge.json', 'export.json']) {
      const written = JSON.parse(readFileSync(dest(name), 'utf8'));
      expect(written.images).toEqual(good.map(({ data: { image } }) => ({ id: image.image_id, width: image.width, height: image.height, file_name: image.file_name })));
      expect(written.annotations.map((a: { id: number; image_id: number; segmentation: unknown }) => [a.id, a.image_id, a.segmentation]))
        .toEqual(good.flatMap((g) => g.data.annotations.map((a) => [g.data.image.image_id, a.segmentation])).map((x, k) => [k + 1, ...x]));
    }
    const labels = good.map((g) => g.data.image.file_name.replace(/\.png$/, ''));
    // One label file per good image, straight in the labels folder, a line per mask.
    const yoloFiles = tree(dest('labels'));
    const labelFiles = yoloFiles.filter((f) => f.endsWith('.txt'));
    expect(yoloFiles.filter((f) => !f.endsWith('.txt'))).toEqual(['.sam-amg-export.json', 'data.yaml']);
    expect(labelFiles).toEqual(labels.map((l) => `${l}.txt`));
    good.forEach((g, k) => {
      const lines = readFileSync(path.join(dest('labels'), labelFiles[k]), 'utf8').split('\n').filter(Boolean);
      expect(lines).toHaveLength(g.data.annotations.length);
    });
    expect(tree(dest('ls'))).toEqual(['.sam-amg-export.json', 'config.xml', 'tasks.json']);
    const tasks = JSON.parse(readFileSync(path.join(dest('ls'), 'tasks.json'), 'utf8'));
    expect(tasks.map((t: { predictions: { result: unknown[] }[] }) => t.predictions[0].result.length)).toEqual(good.map((g) => g.data.annotations.length));
    expect(tree(dest('maps'))).toEqual(['.sam-amg-export.json', ...labels.map((l) => `${l}.png`)]);
    expect(tree(dest('viz'))).toEqual(labels.map((l) => `${l}.png`));

    // Nothing else changed under root, byte for byte: no file of a climbing name, no temporaries, the output folder as it was.
    const destinations = ['merge.json', 'export.json', 'labels', 'ls', 'maps', 'viz', 'report'].map((d) => path.relative(root, dest(d)));
    expectTreeKept(before, snapshotTree(root), destinations);
  });

  it('status names each bad file in one line and counts the good ones', async () => {
    const res = await runCli(['status', out]);
    noStackTrace(res);
    expect(res.code, res.stderr).toBe(1);
    expect(res.stderr).toBe('');
    const fingerprint = JSON.parse(readFileSync(path.join(out, '.sam-amg-run.json'), 'utf8')).fingerprint as string;
    expect(res.stdout).toBe([
      `${out}: fingerprint ${fingerprint.slice(0, 12)}…, format json`,
      '  all images: 4 done, 0 failed',
      '  total: 4 done, 0 failed',
      ...namedLines('  unreadable: '),
    ].join('\n') + '\n');
  });

  it('status on a damaged run manifest names it in one line and goes on; odd failures lines are failures of their file', async () => {
    const manifest = JSON.parse(readFileSync(path.join(out, '.sam-amg-run.json'), 'utf8'));
    const copies = ['not json{', JSON.stringify({ ...manifest, fingerprint: 5 }), JSON.stringify({ ...manifest, settings: 'x' }), '[]'];
    const reasons = [
      `not valid JSON (${(() => { try { JSON.parse(copies[0]); } catch (err) { return (err as Error).message; } })()})`,
      'not a run manifest (fingerprint: expected a string, got 5)',
      'not a run manifest (settings: expected an object, got "x")',
      'not a run manifest (expected an object, got [])',
    ];
    const folders = copies.map((text) => {
      const copy = path.join(tempDir(), 'out');
      cpSync(out, copy, { recursive: true, filter: (src) => !src.startsWith(path.join(out, 'bad')) });
      writeFileSync(path.join(copy, '.sam-amg-run.json'), text);
      writeFileSync(path.join(copy, 'failures.jsonl'), 'null\n5\n[1, 2]\n"text"\n{"path": 3, "reason": "r"}\n{"path": "b/gone.png", "reason": "not a png"}\nnot json\n');
      return copy;
    });
    const results = await Promise.all(folders.map((f) => runCli(['status', f])));
    results.forEach((res, k) => {
      noStackTrace(res);
      expect(res.code, res.stderr).toBe(1);
      expect(res.stdout).toBe([
        `${folders[k]}: run manifest unreadable (listed below)`,
        '  all images: 4 done, 7 failed',
        '  total: 4 done, 7 failed',
        `  unreadable: ${path.join(folders[k], '.sam-amg-run.json')}: ${reasons[k]}`,
      ].join('\n') + '\n');
    });
    const [{ failures }] = await readFailuresFiles(folders[0]);
    const odd = (line: string) => ({ path: 'failures.jsonl', reason: `unreadable line: ${JSON.stringify(line)}` });
    expect(failures).toEqual([odd('null'), odd('5'), odd('[1, 2]'), odd('"text"'), odd('{"path": 3, "reason": "r"}'),
      { path: 'b/gone.png', reason: 'not a png' }, odd('not json')]);
  });
});

describe('CocoWriter.add', () => {
  it('an image whose annotations cannot be written leaves the file and the counts as they were', async () => {
    const dir = tempDir();
    const image = (id: number) => ({ image_id: id, width: 2, height: 2, file_name: `${id}.png` });
    const annotation = (id: number, counts: string) => ({
      id, segmentation: { size: [2, 2] as [number, number], counts }, area: 1, bbox: [0, 0, 0, 0] as [number, number, number, number],
      predicted_iou: 0.9, point_coords: [[0, 0]] as [[number, number]], stability_score: 0.9, crop_box: [0, 0, 2, 2] as [number, number, number, number],
    });
    const first: Sa1bFile = { image: image(1), annotations: [annotation(1, '31')] };
    // The second annotation's RLE is cut off inside a run: computing its box throws.
    const broken: Sa1bFile = { image: image(2), annotations: [annotation(1, '211'), annotation(2, '2P')] };
    const third: Sa1bFile = { image: image(3), annotations: [annotation(1, '211')] };
    const file = path.join(dir, 'coco.json');
    const writer = await CocoWriter.create(file, path.join(dir, 'side'));
    await writer.add(first, first.annotations, 'first');
    await expect(writer.add(broken, broken.annotations, 'broken')).rejects.toThrow('truncated RLE string at character 2');
    await writer.add(third, third.annotations, 'third');
    // The refused image's id was never taken.
    await writer.add({ ...broken, annotations: [] }, [], 'again');
    await writer.finish();
    const written = JSON.parse(readFileSync(file, 'utf8'));
    expect(written.images.map((i: { id: number }) => i.id)).toEqual([1, 3, 2]);
    expect(written.annotations.map((a: { id: number; image_id: number; bbox: number[] }) => [a.id, a.image_id, a.bbox]))
      .toEqual([[1, 1, [1, 1, 1, 1]], [2, 3, [1, 0, 1, 1]]]);
    expect(readdirSync(dir)).toEqual(['coco.json']);
  });
});
