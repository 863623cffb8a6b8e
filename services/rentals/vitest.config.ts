import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.spec.ts', 'test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Five services, Kafka and PostgreSQL share two cores here: a test that lost a race with the
    // machine gets one more run. A real fault fails twice; a retried test shows in the report.
    retry: 1,
  },
});
