import type { Reporter, ReportedHookContext, SerializedError, TestModule, TestRunEndReason } from 'vitest/node';

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * Ends the run with the plain "N passed, N failed" line CI logs are read for.
 * Failures are tests, and also what fails a run without failing a test: a
 * beforeAll or afterAll hook that threw or timed out (its tests are reported
 * skipped), a file that could not be imported or collected, and errors no test
 * caught. A test whose beforeEach or afterEach failed counts once, as a hook.
 */
export default class SummaryReporter implements Reporter {
  /** Hooks that started and never ended: vitest reports no end for a hook that threw. */
  private open = new Map<string, ReportedHookContext>();

  private key(hook: ReportedHookContext) {
    return `${hook.name} ${hook.entity.id}`;
  }

  onTestRunStart(): void {
    this.open.clear();
  }

  onHookStart(hook: ReportedHookContext): void {
    this.open.set(this.key(hook), hook);
  }

  onHookEnd(hook: ReportedHookContext): void {
    this.open.delete(this.key(hook));
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError> = [], reason?: TestRunEndReason): void {
    let passed = 0;
    let skipped = 0;
    const failed = { test: 0, hook: 0, suite: 0, file: 0, unhandled: unhandledErrors.length };
    const failedInHook = new Set<string>();
    const suitesWithFailedHook = new Set<string>();
    for (const { entity } of this.open.values()) {
      if (entity.type === 'test') {
        // beforeEach or afterEach: the test it ran for failed.
        if (entity.result().state === 'failed' && !failedInHook.has(entity.id)) {
          failedInHook.add(entity.id);
          failed.hook++;
        }
      } else if (entity.errors().length && !suitesWithFailedHook.has(entity.id)) {
        // beforeAll or afterAll of a suite or of the file.
        suitesWithFailedHook.add(entity.id);
        failed.hook++;
      }
    }
    for (const m of modules) {
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') { if (!failedInHook.has(t.id)) failed.test++; }
        else skipped++;
      }
      // Errors of a module or suite that no hook of its own explains: the file failed to import or
      // collect (or a describe block holds no test).
      if (m.errors().length && !suitesWithFailedHook.has(m.id)) failed.file++;
      for (const s of m.children.allSuites()) if (s.errors().length && !suitesWithFailedHook.has(s.id)) failed.suite++;
    }
    const total = failed.test + failed.hook + failed.suite + failed.file + failed.unhandled;
    const kinds = [
      failed.test && plural(failed.test, 'test'),
      failed.hook && plural(failed.hook, 'hook'),
      failed.suite && plural(failed.suite, 'suite'),
      failed.file && plural(failed.file, 'file'),
      failed.unhandled && plural(failed.unhandled, 'unhandled error'),
    ].filter(Boolean);
    const detail = total > failed.test ? ` (${kinds.join(', ')})` : '';
    const tail = `${skipped ? `, ${skipped} skipped` : ''}${reason === 'interrupted' ? ', interrupted' : ''}`;
    process.stdout.write(`\ntests: ${passed} passed, ${total} failed${detail}${tail}\n`);
  }
}
