import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Test files known to take longest, longest first (measured on 2 cores with vitest's JSON reporter and per-file
 * CPU time: from about 50 s down to 15 s each, most of the rest under 10 s), started first, so the two workers
 * finish together. Vitest's own order without a cache is by file size, which put the short files with the
 * longest runs last.
 */
const SLOWEST = ['dataset-run', 's3', 'storage-faults', 'hostile-names', 'hierarchical', 'pack-install', 'cli', 'export', 'decoder-split',
  'filter-graph', 'sam2-semantics', 'families', 'crop-bounds', 'synthetic-scenes', 'library-run', 'merge-png-inspect', 'resume-and-out',
  'report', 'upscale-paths', 'models-registry'];

const rank = (spec: TestSpecification) => {
  const k = SLOWEST.findIndex((name) => spec.moduleId.endsWith(`/${name}.test.ts`));
  return k < 0 ? SLOWEST.length : k;
};

export default class SlowestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    return sorted.map((spec, i) => ({ spec, i })).sort((a, b) => rank(a.spec) - rank(b.spec) || a.i - b.i).map(({ spec }) => spec);
  }
}
