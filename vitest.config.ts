import { defineConfig } from 'vitest/config';

// Unit tests run in parallel; integration tests build real namespaces, mounts and
// guests, so they run one file at a time to stay within two cores and avoid clashes.
export default defineConfig({
  test: {
    pool: 'forks',
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], pool: 'forks' } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          pool: 'forks',
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Snapshots the host before the first file and fails the run if anything is left after the last.
          globalSetup: ['test/harness/suite-guard.ts'],
        },
      },
    ],
  },
});
