import { defineConfig } from 'vitest/config';
import SlowestFirst from './test/slowest-first.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Model runs on 2 cores take seconds, not milliseconds.
    testTimeout: 180_000,
    hookTimeout: 60_000,
    // Vitest's default is cores - 1, one file at a time on 2 cores; much of a file's time is spawning the
    // CLI and reading files, so two at once finish sooner (suite measured with 1, 2 and 3; see README).
    maxWorkers: Number(process.env.SAM_AMG_TEST_WORKERS ?? 2),
    sequence: { sequencer: SlowestFirst },
    // One onnxruntime intra-op thread per session in the test processes (the spawned CLIs get it from testEnv).
    setupFiles: ['./test/onnx-one-thread.cjs'],
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
