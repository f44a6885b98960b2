import type { Sa1bAnnotation, Sa1bFile } from '../output/sa1b.js';
import { readJsonOption } from '../settings/json-option.js';
import { checkNumber, invalid } from '../errors.js';

/**
 * Filters on stored masks, with the comparisons of the run's own filters:
 * predicted IoU above the minimum (as `--pred-iou-thresh`), stability score
 * at least the minimum (as `--stability-score-thresh`), area at least
 * `minArea` pixels (as `--min-mask-area`), area fraction below
 * `maxAreaFraction` (as `--max-mask-area-fraction`), and the masks a person
 * rejected: `{"<file_name>": [annotation ids]}`.
 */
export interface StoredMaskFilter {
  minPredictedIou?: number;
  minStabilityScore?: number;
  minArea?: number;
  maxAreaFraction?: number;
  reject?: ReadonlyMap<string, ReadonlySet<number>>;
}

/** The annotations of `file` the filter keeps, in their stored order. */
export function keptAnnotations(file: Sa1bFile, filter: StoredMaskFilter): Sa1bAnnotation[] {
  const rejected = filter.reject?.get(file.image.file_name);
  const imageArea = file.image.width * file.image.height;
  return file.annotations.filter((a) =>
    (filter.minPredictedIou === undefined || a.predicted_iou > filter.minPredictedIou)
    && (filter.minStabilityScore === undefined || a.stability_score >= filter.minStabilityScore)
    && (filter.minArea === undefined || a.area >= filter.minArea)
    && (filter.maxAreaFraction === undefined || a.area / imageArea < filter.maxAreaFraction)
    && !rejected?.has(a.id));
}

export function isFiltering(filter: StoredMaskFilter): boolean {
  return Object.values(filter).some((v) => v !== undefined);
}

/** The stored-mask filter options of `export` and `merge`, as the command line gives them. */
export interface FilterFlags {
  minPredictedIou?: string;
  minStabilityScore?: string;
  minArea?: string;
  maxAreaFraction?: string;
  reject?: string;
}

/** Checks the flags in the one message shape and reads the rejections file. */
export async function filterFromFlags(o: FilterFlags): Promise<StoredMaskFilter> {
  const num = (flag: string, value: string | undefined, rule: Parameters<typeof checkNumber>[2]) =>
    (value === undefined ? undefined : checkNumber(flag, value, rule));
  return {
    minPredictedIou: num('--min-predicted-iou', o.minPredictedIou, { min: 0, max: 1 }),
    minStabilityScore: num('--min-stability-score', o.minStabilityScore, { min: 0, max: 1 }),
    minArea: num('--min-area', o.minArea, { integer: true, min: 0 }),
    maxAreaFraction: num('--max-area-fraction', o.maxAreaFraction, { min: 0, max: 1, minExclusive: true }),
    reject: o.reject === undefined ? undefined : await readRejections(o.reject),
  };
}

/** A `--reject` file: `{"<file_name>": [annotation ids]}`, as the review site downloads it. */
export async function readRejections(file: string): Promise<Map<string, Set<number>>> {
  const { text, value: parsed } = await readJsonOption('--reject', file);
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw invalid('an object of file names to lists of annotation ids', `--reject ${file}`, text.trim().slice(0, 40));
  }
  const rejections = new Map<string, Set<number>>();
  for (const [name, ids] of Object.entries(parsed)) {
    if (!Array.isArray(ids) || !ids.every((id) => Number.isInteger(id) && id > 0)) {
      throw invalid('a list of positive integer annotation ids', `--reject ${file} "${name}"`, JSON.stringify(ids));
    }
    rejections.set(name, new Set(ids));
  }
  return rejections;
}
