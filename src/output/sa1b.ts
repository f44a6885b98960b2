import { createHash } from 'node:crypto';
import type { MaskRecord } from '../amg/records.js';
import type { RunIdentity } from './run-identity.js';

export interface Sa1bImage {
  image_id: number;
  width: number;
  height: number;
  /** Path relative to the input root, with '/' separators. */
  file_name: string;
}

export interface Sa1bAnnotation extends MaskRecord {
  id: number;
}

/** What made one output: the run's identity and the SHA-256 of the image file's bytes. */
export interface OutputInfo extends RunIdentity {
  image_sha256: string;
}

/** One image's masks in the SA-1B per-image layout, plus what made them. */
export interface Sa1bFile {
  image: Sa1bImage;
  annotations: Sa1bAnnotation[];
  info?: OutputInfo;
}

/**
 * A stable id for an image: the first 53 bits of sha256 of its file_name
 * (relative path with '/' separators), so the same file gets the same id on
 * every machine and every run, and ids stay exact in JSON and JavaScript.
 */
export function imageIdFor(fileName: string): number {
  const digest = createHash('sha256').update(fileName, 'utf8').digest();
  // 53 bits: 6 whole bytes (48) plus the top 5 bits of the seventh.
  return digest.readUIntBE(0, 6) * 32 + (digest[6] >> 3);
}

/** Annotation ids count from 1 within each image. */
export function toSa1b(records: MaskRecord[], image: Omit<Sa1bImage, 'image_id'>, info?: OutputInfo): Sa1bFile {
  const file: Sa1bFile = {
    image: { image_id: imageIdFor(image.file_name), ...image },
    annotations: records.map((r, i) => ({ id: i + 1, ...r })),
  };
  if (info) file.info = info;
  return file;
}
