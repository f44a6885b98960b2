import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Test files known to take longest (measured in CI: 17 to 44 s each, the rest under 11 s; storage-faults about 22 s here), started first,
 * so the two workers finish together. Vitest's own order without a cache is by file size, which put
 * the short files with the longest runs last (suite 120 s).
 */
const SLOWEST = ['dataset-run', 's3', 'synthetic-scenes', 'decoder-split', 'cli', 'hierarchical', 'export', 'storage-faults', 'merge-png-inspect', 'resume-and-out', 'upscale-paths', 'families'];

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
