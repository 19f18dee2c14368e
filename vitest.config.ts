import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The operator console's single-file components compile for its component tests (test/renderer).
  plugins: [vue()],
  test: {
    include: ['test/**/*.test.ts'],
    // One temporary directory per run, removed when it ends (test/support/temp-root.ts).
    globalSetup: ['./test/support/temp-root.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration suites start real server processes; two cores, so keep forks few.
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
