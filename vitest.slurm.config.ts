import { defineConfig } from 'vitest/config';

// `npm run test:slurm`: the SLURM job-array test, apart from the fast suite (it starts a cluster as root).
export default defineConfig({
  test: {
    include: ['test/slurm/**/*.slurm.ts'],
    testTimeout: 900_000,
    hookTimeout: 120_000,
    maxWorkers: 1,
  },
});
