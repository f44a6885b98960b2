import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { decodeBinary } from '@thi.ng/rle-pack';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { brushRleReference } from '../../src/export/label-studio.js';
import type { Sa1bAnnotation, Sa1bFile } from '../../src/output/sa1b.js';
import { decodeCountsString } from '../../src/rle/coco-string.js';
import { rleToRowMajor } from '../../src/rle/rle.js';
import { firstPixelsByFlood, holesFilled, maskIou, PHOTOS, runCli, spawnCli, tempDir, TINY } from '../helpers.js';
import { ultralyticsMask } from './ultralytics.js';

// 16 points a side: 18 masks on the three photos (the default 32 gives 22 at four times the cost; two runs of it
// took the beforeAll hook past a minute on a busy 2-core machine).
const MODEL = ['--model', TINY, '--points-per-side', '16'];

const decode = (seg: { size: [number, number]; counts: string }) => rleToRowMajor({ size: seg.size, counts: decodeCountsString(seg.counts) });

function readOutputs(dir: string): Sa1bFile[] {
  return readdirSync(dir).filter((f) => f.endsWith('.json') && !f.startsWith('.')).sort()
    .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Sa1bFile);
}

/** YOLO lines as Ultralytics' training fills them (float32 values times the size, cast to int32, cv2.fillPoly). */
function yoloMasks(text: string, width: number, height: number): { mask: Uint8Array; values: number }[] {
  return text.trim().split('\n').filter(Boolean).map((line) => {
    const [cls, ...values] = line.split(' ');
    expect(cls).toBe('0');
    for (const v of values) expect(v).toMatch(/^0\.\d{6,15}$/);
    return { mask: ultralyticsMask(line, width, height), values: values.length };
  });
}

const maskKey = (file: string, a: Pick<Sa1bAnnotation, 'segmentation'>) => `${file} ${a.segmentation.counts}`;

describe('sam-amg export', () => {
  let out: string;
  let outPng: string;
  let files: Sa1bFile[];

  beforeAll(async () => {
    out = tempDir();
    outPng = tempDir();
    const [json, png] = await Promise.all([runCli([PHOTOS, '--out', out, ...MODEL]), runCli([PHOTOS, '--out', outPng, ...MODEL, '--format', 'png'])]);
    expect(json.code, json.stderr).toBe(0);
    expect(png.code, png.stderr).toBe(0);
    files = readOutputs(out);
    expect(files.map((f) => f.annotations.length).reduce((a, b) => a + b)).toBeGreaterThan(15);
    // Two model runs at once: seconds each on an idle 2-core machine, and a busy one may be many times slower.
  }, 240_000);

  it('reading files ahead of the writer changes nothing: COCO and YOLO byte for byte as one file at a time, failures in order', async () => {
    // 60 per-image files (the photos' under 20 names each) and an unreadable one among them.
    const many = tempDir();
    for (let k = 0; k < 20; k++) {
      for (const f of files) {
        const file_name = `copy-${String(k).padStart(2, '0')}/${f.image.file_name}`;
        const target = path.join(many, file_name.replace(/\.[^.]+$/, '.json'));
        mkdirSync(path.dirname(target), { recursive: true });
        writeFileSync(target, JSON.stringify({ ...f, image: { ...f.image, file_name, image_id: f.image.image_id + k + 1 } }));
      }
    }
    writeFileSync(path.join(many, 'copy-07', 'broken.json'), '{"image":');
    const { exportLabels } = await import('../../src/export/export.js');
    const dest = tempDir();
    const results = [];
    for (const ahead of [1, 8]) {
      const coco = await exportLabels({ out: many, format: 'coco', to: path.join(dest, `coco-${ahead}.json`), readAhead: ahead });
      const yolo = await exportLabels({ out: many, format: 'yolo', to: path.join(dest, `yolo-${ahead}`, 'labels'), readAhead: ahead });
      results.push({ coco, yolo });
    }
    expect(results[0].coco.images).toBe(60);
    expect(results[0].coco.failed.map((f) => f.path)).toEqual([path.join(many, 'copy-07', 'broken.json')]);
    expect(results[1]).toEqual(results[0]);
    const withoutDate = (f: string) => readFileSync(path.join(dest, f), 'utf8').replace(/"date_created":"[^"]*"/, '');
    expect(withoutDate('coco-8.json')).toBe(withoutDate('coco-1.json'));
    const tree = (dir: string) => new Map(readdirSync(path.join(dest, dir), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && e.name !== '.sam-amg-export.json' && e.name !== 'data.yaml')
      .map((e) => [path.relative(path.join(dest, dir), path.join(e.parentPath, e.name)), readFileSync(path.join(e.parentPath, e.name), 'utf8')]));
    expect(tree('yolo-8').size).toBe(60);
    expect(tree('yolo-8')).toEqual(tree('yolo-1'));
  });

  it('labelstudio: every result decodes with rle-pack to exactly its mask on all four channels; tasks and config match', async () => {
    const to = path.join(tempDir(), 'ls');
    const res = await runCli(['export', out, '--format', 'labelstudio', '--to', to, '--image-root', '/data/local-files/?d=photos/']);
    expect(res.code, res.stderr).toBe(0);
    const masks = files.reduce((n, f) => n + f.annotations.length, 0);
    expect(res.stderr).toBe(`sam-amg: exported 3 images and ${masks} masks as labelstudio to ${to}\n`);
    const config = readFileSync(path.join(to, 'config.xml'), 'utf8');
    const brush = config.match(/<BrushLabels name="([^"]+)" toName="([^"]+)"/)!;
    const image = config.match(/<Image name="([^"]+)" value="\$image"/)!;
    expect(brush[2]).toBe(image[1]);
    expect(config).toContain('<Label value="object"/>');
    const tasks = JSON.parse(readFileSync(path.join(to, 'tasks.json'), 'utf8'));
    expect(tasks).toHaveLength(3);
    for (const [t, task] of tasks.entries()) {
      const file = files[t];
      const { width, height } = file.image;
      expect(task.data.image).toBe(`/data/local-files/?d=photos/${file.image.file_name}`);
      const [prediction] = task.predictions;
      expect(prediction.model_version).toContain(`fingerprint ${file.info!.fingerprint.slice(0, 12)}`);
      expect(prediction.score).toBeCloseTo(file.annotations.reduce((s, a) => s + a.predicted_iou, 0) / file.annotations.length, 12);
      expect(prediction.result).toHaveLength(file.annotations.length);
      for (const [k, result] of prediction.result.entries()) {
        const a = file.annotations[k];
        expect(result).toMatchObject({
          type: 'brushlabels', from_name: brush[1], to_name: image[1], original_width: width, original_height: height,
          image_rotation: 0, score: a.predicted_iou, value: { format: 'rle', brushlabels: ['object'] },
        });
        // Byte for byte what rle-pack's own encoder makes of the RGBA bytes, and decoded by rle-pack to the mask.
        expect(result.value.rle).toEqual(Array.from(brushRleReference(a.segmentation, new Uint8Array(width * height * 4))));
        const rgba = decodeBinary(Uint8Array.from(result.value.rle));
        expect(rgba.length).toBe(width * height * 4);
        const mask = decode(a.segmentation);
        let wrong = 0;
        for (let p = 0; p < mask.length; p++) {
          const v = mask[p] * 255;
          if (rgba[4 * p] !== v || rgba[4 * p + 1] !== v || rgba[4 * p + 2] !== v || rgba[4 * p + 3] !== v) wrong++;
        }
        expect(wrong, `${file.image.file_name} mask ${a.id}`).toBe(0);
      }
    }
  });

  it('yolo: each line, filled as Ultralytics does, gives its mask with holes filled (several components: and their bridges); one-component masks without holes keep IoU >= 0.98 simplified', async () => {
    // Ultralytics finds labels in a folder named labels beside the images folder.
    const exact = path.join(tempDir(), 'labels');
    const simple = path.join(tempDir(), 'labels');
    for (const [to, extra] of [[exact, []], [simple, ['--simplify', '1']]] as const) {
      const res = await runCli(['export', out, '--format', 'yolo', '--to', to, ...extra]);
      expect(res.code, res.stderr).toBe(0);
    }
    expect(readFileSync(path.join(exact, 'data.yaml'), 'utf8')).toContain(`path: "${path.dirname(exact)}"\ntrain: images\nval: images\nnames:\n  0: object\n`);
    let checked = 0;
    let multi = 0;
    let holed = 0;
    let vertices = [0, 0];
    for (const file of files) {
      const { width, height } = file.image;
      const name = file.image.file_name.replace(/\.[^.]+$/, '.txt');
      const polygons = yoloMasks(readFileSync(path.join(exact, name), 'utf8'), width, height);
      const simplified = yoloMasks(readFileSync(path.join(simple, name), 'utf8'), width, height);
      expect(polygons).toHaveLength(file.annotations.length);
      for (const [k, a] of file.annotations.entries()) {
        const mask = decode(a.segmentation);
        const filled = holesFilled(mask, width, height);
        const components = firstPixelsByFlood(mask, width, height).length / 2;
        const hasHoles = maskIou(filled, mask) < 1;
        if (components > 1) {
          // Every pixel of the mask, holes filled, and the pixels the bridges between components cross.
          multi++;
          let missing = 0;
          for (let p = 0; p < mask.length; p++) if (filled[p] && !polygons[k].mask[p]) missing++;
          expect(missing, `${name} mask ${a.id}`).toBe(0);
        } else {
          expect(maskIou(polygons[k].mask, filled), `${name} mask ${a.id}`).toBe(1);
        }
        vertices = [vertices[0] + polygons[k].values, vertices[1] + simplified[k].values];
        if (hasHoles) holed++;
        if (components === 1 && !hasHoles && a.area >= 400) {
          expect(maskIou(simplified[k].mask, mask), `${name} mask ${a.id} simplified`).toBeGreaterThanOrEqual(0.98);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(5);
    // The photos' masks include both kinds YOLO lines cannot hold as they are.
    expect(multi + holed).toBeGreaterThan(0);
    expect(vertices[1]).toBeLessThan(vertices[0] / 2);
  });

  it('labelmap: every pixel is the id of the smallest mask covering it (0 where none), in a 16-bit PNG', async () => {
    const to = path.join(tempDir(), 'maps');
    const res = await runCli(['export', out, '--format', 'labelmap', '--to', to]);
    expect(res.code, res.stderr).toBe(0);
    let labelled = 0;
    let pixels = 0;
    for (const file of files) {
      const { width, height } = file.image;
      const png = path.join(to, file.image.file_name.replace(/\.[^.]+$/, '.png'));
      expect((await sharp(png).metadata()).depth).toBe('ushort');
      const { data } = await sharp(png).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
      const labels = new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
      const masks = file.annotations.map((a) => ({ id: a.id, area: a.area, mask: decode(a.segmentation) }));
      let wrong = 0;
      for (let p = 0; p < width * height; p++) {
        let best: { id: number; area: number } | undefined;
        for (const m of masks) if (m.mask[p] && (!best || m.area < best.area || (m.area === best.area && m.id < best.id))) best = m;
        if (labels[p] !== (best?.id ?? 0)) wrong++;
        if (best) labelled++;
      }
      pixels += width * height;
      expect(wrong, file.image.file_name).toBe(0);
    }
    expect(res.stderr).toContain(`; ${(100 * labelled / pixels).toFixed(1)} % of pixels labelled\n`);
  });

  it('the filters and --reject remove exactly what they name, in export and merge alike', async () => {
    const all = files.flatMap((f) => f.annotations.map((a) => ({ f, a })));
    const ious = all.map(({ a }) => a.predicted_iou).sort((x, y) => x - y);
    const minIou = ious[Math.floor(ious.length / 4)];
    const stabilities = all.map(({ a }) => a.stability_score).sort((x, y) => x - y);
    const minStability = stabilities[Math.floor(stabilities.length / 5)];
    const areas = all.map(({ a }) => a.area).sort((x, y) => x - y);
    const minArea = areas[Math.floor(areas.length / 5)];
    const maxFraction = 0.3;
    const rejected = { [files[0].image.file_name]: [files[0].annotations.at(-1)!.id], [files[1].image.file_name]: [files[1].annotations[0].id] };
    const rejectFile = path.join(tempDir(), 'rejections.json');
    writeFileSync(rejectFile, JSON.stringify(rejected));
    const flags = ['--min-predicted-iou', String(minIou), '--min-stability-score', String(minStability), '--min-area', String(minArea),
      '--max-area-fraction', String(maxFraction), '--reject', rejectFile];
    const expected = all.filter(({ f, a }) => a.predicted_iou > minIou && a.stability_score >= minStability && a.area >= minArea
      && a.area / (f.image.width * f.image.height) < maxFraction && !(rejected[f.image.file_name] ?? []).includes(a.id));
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(all.length - 4);
    const dir = tempDir();
    const exported = await runCli(['export', out, '--format', 'coco', '--to', path.join(dir, 'export.json'), ...flags]);
    const merged = await runCli(['merge', out, '--coco', path.join(dir, 'merge.json'), ...flags]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(merged.code, merged.stderr).toBe(0);
    expect(merged.stderr).toBe(`sam-amg: merged 3 images and ${expected.length} annotations into ${path.join(dir, 'merge.json')}; ${all.length - expected.length} masks filtered out\n`);
    for (const name of ['export.json', 'merge.json']) {
      const coco = JSON.parse(readFileSync(path.join(dir, name), 'utf8'));
      const fileOf = new Map(coco.images.map((i: { id: number; file_name: string }) => [i.id, i.file_name]));
      expect(coco.annotations.map((a: Sa1bAnnotation & { image_id: number }) => maskKey(fileOf.get(a.image_id) as string, a)))
        .toEqual(expected.map(({ f, a }) => maskKey(f.image.file_name, a)));
    }
    const [a, b] = ['export.json', 'merge.json'].map((n) => JSON.parse(readFileSync(path.join(dir, n), 'utf8')));
    delete a.info.date_created;
    delete b.info.date_created;
    expect(a).toEqual(b);
  });

  it('a stored predicted-IoU filter equals a rerun at that threshold (one crop, no small-region cleanup)', async () => {
    const ious = files.flatMap((f) => f.annotations.map((a) => a.predicted_iou)).sort((x, y) => x - y);
    // Halfway between two stored values, so some masks go and the comparison cannot tie.
    const k = Math.floor(ious.length / 3);
    const threshold = (ious[k] + ious[k + 1]) / 2;
    const rerun = tempDir();
    expect((await runCli([PHOTOS, '--out', rerun, ...MODEL, '--pred-iou-thresh', String(threshold)])).code).toBe(0);
    const dir = tempDir();
    expect((await runCli(['export', out, '--format', 'coco', '--to', path.join(dir, 'filtered.json'), '--min-predicted-iou', String(threshold)])).code).toBe(0);
    expect((await runCli(['export', rerun, '--format', 'coco', '--to', path.join(dir, 'rerun.json')])).code).toBe(0);
    const [filtered, again] = ['filtered.json', 'rerun.json'].map((n) => JSON.parse(readFileSync(path.join(dir, n), 'utf8')));
    expect(filtered.annotations.length).toBeLessThan(ious.length);
    expect(filtered.annotations.length).toBeGreaterThan(0);
    expect(filtered.annotations).toEqual(again.annotations);
  });

  it('reads PNG-format outputs as it reads JSON ones', async () => {
    const [a, b] = [path.join(tempDir(), 'labels'), path.join(tempDir(), 'labels')];
    expect((await runCli(['export', out, '--format', 'yolo', '--to', a])).code).toBe(0);
    expect((await runCli(['export', outPng, '--format', 'yolo', '--to', b])).code).toBe(0);
    const labels = readdirSync(a).filter((f) => f.endsWith('.txt'));
    expect(labels.length).toBe(files.length);
    for (const f of labels) expect(readFileSync(path.join(b, f), 'utf8')).toBe(readFileSync(path.join(a, f), 'utf8'));
  });

  it('usage errors write nothing: a folder without sam-amg outputs, a folder that is no export, options of another format', async () => {
    const empty = tempDir();
    const stray = tempDir();
    writeFileSync(path.join(stray, 'notes.json'), '{"hello": 1}');
    const parent = tempDir();
    for (const source of [empty, stray]) {
      const to = path.join(parent, 'dest');
      const res = await runCli(['export', source, '--format', 'yolo', '--to', to]);
      expect(res.code).toBe(2);
      expect(res.stderr.trim().split('\n').at(-1)).toMatch(new RegExp(`^sam-amg: ${source}: holds no sam-amg outputs`));
      expect(readdirSync(parent)).toEqual([]);
    }
    const occupied = tempDir();
    writeFileSync(path.join(occupied, 'keep.txt'), 'mine');
    const refused = await runCli(['export', out, '--format', 'labelmap', '--to', occupied]);
    expect(refused.stderr).toBe(`sam-amg: --to ${occupied}: the folder exists and is not a sam-amg export; it would be replaced: move it, or choose another --to\n`);
    expect(refused.code).toBe(2);
    expect(readdirSync(occupied)).toEqual(['keep.txt']);
    const aFile = path.join(occupied, 'keep.txt');
    const fileNotFolder = await runCli(['export', out, '--format', 'yolo', '--to', aFile]);
    expect(fileNotFolder.stderr).toBe(`sam-amg: --to ${aFile}: is a file; the yolo format writes a folder\n`);
    expect(fileNotFolder.code).toBe(2);
    const folderNotFile = await runCli(['merge', out, '--coco', occupied]);
    expect(folderNotFile.stderr).toBe(`sam-amg: --coco ${occupied}: is a folder; the coco format writes a file\n`);
    expect(folderNotFile.code).toBe(2);
    expect(readdirSync(occupied)).toEqual(['keep.txt']);
    const wrong = await runCli(['export', out, '--format', 'labelstudio', '--to', path.join(parent, 'x'), '--simplify', '2']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toBe('sam-amg: --simplify goes with --format yolo (the other formats hold masks, not polygons)\n');
    const badReject = path.join(parent, 'r.json');
    writeFileSync(badReject, '{"a.jpg": [1, "two"]}');
    const bad = await runCli(['export', out, '--format', 'yolo', '--to', path.join(parent, 'x'), '--reject', badReject]);
    expect(bad.stderr).toBe(`sam-amg: Expected a list of positive integer annotation ids for --reject ${badReject} "a.jpg" but received [1,"two"] of type string\n`);
    expect(bad.code).toBe(2);
    expect(readdirSync(parent)).toEqual(['r.json']);
  });

  it('a YOLO export Ultralytics has read (its labels cache inside) is replaced by the next export', async () => {
    const to = path.join(tempDir(), 'labels');
    expect((await runCli(['export', out, '--format', 'yolo', '--to', to])).code).toBe(0);
    // What Ultralytics writes beside label files in labels/train/: labels/train.cache.
    writeFileSync(path.join(to, 'train.cache'), 'ultralytics cache');
    const again = await runCli(['export', out, '--format', 'yolo', '--to', to]);
    expect(again.code, again.stderr).toBe(0);
    expect(readdirSync(to)).not.toContain('train.cache');
    expect(readdirSync(to)).toContain('data.yaml');
  });

  it('an unreadable per-image file is named and skipped (exit 1); an earlier export is replaced', async () => {
    const copy = tempDir();
    cpSync(out, copy, { recursive: true });
    writeFileSync(path.join(copy, 'torn.json'), '{"image": {"image_id": 1');
    const to = path.join(tempDir(), 'maps');
    mkdirSync(to);
    for (let round = 0; round < 2; round++) {
      const res = await runCli(['export', copy, '--format', 'labelmap', '--to', to]);
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(new RegExp(`^sam-amg: ${path.join(copy, 'torn.json')}: not valid JSON`));
      expect(res.stderr).toMatch(/exported 3 images and \d+ masks as labelmap to .*; 1 file skipped\n$/);
      expect(readdirSync(to).sort()).toEqual(['.sam-amg-export.json', 'meadow.png', 'shelf.png', 'still-life.png']);
    }
  });

  it('a killed export leaves no destination; the next one completes and clears what it left', async () => {
    // Many copies of the outputs, so the export is still writing when it is killed.
    const many = tempDir();
    for (let i = 0; i < 20; i++) cpSync(out, path.join(many, `copy-${String(i).padStart(2, '0')}`), { recursive: true });
    const parent = tempDir();
    const to = path.join(parent, 'ls');
    const { child, done } = spawnCli(['export', many, '--format', 'labelstudio', '--to', to], () => {});
    // Killed once its temporary folder exists and has some tasks in it.
    const started = Date.now();
    for (;;) {
      const temp = readdirSync(parent).find((n) => n.endsWith('.tmp'));
      if (temp && existsSync(path.join(parent, temp, 'tasks.json')) && readFileSync(path.join(parent, temp, "tasks.json")).length > 1e6) break;
      expect(Date.now() - started).toBeLessThan(60_000);
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGKILL');
    expect((await done).signal).toBe('SIGKILL');
    expect(existsSync(to)).toBe(false);
    const res = await runCli(['export', many, '--format', 'labelstudio', '--to', to]);
    expect(res.code, res.stderr).toBe(0);
    expect(readdirSync(parent)).toEqual(['ls']);
    expect(JSON.parse(readFileSync(path.join(to, 'tasks.json'), 'utf8'))).toHaveLength(60);
  });
});
