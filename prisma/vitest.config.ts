import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.spec.ts'],
    // Each test creates and migrates a database: ~0.3 s on a quiet machine, but 3-42 s were seen in CI while
    // the control plane's Go build shared the disk. A correctness test, not a timing one.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
