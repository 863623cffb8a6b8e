import { defineConfig } from 'vitest/config';

// The end-to-end suites run twice: through the Knative broker data plane and straight on Kafka.
const e2e = (transport: 'knative' | 'kafka', exclude: string[] = []) => ({
  extends: true,
  test: {
    name: `e2e-${transport}`,
    include: ['test/e2e/**/*.test.ts'],
    exclude,
    env: { SOUNDGOOD_E2E_TRANSPORT: transport },
  },
});

export default defineConfig({
  test: {
    // One file at a time across all projects: each e2e file runs five services (and a data plane).
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 240_000,
    // Five services, Kafka and PostgreSQL share two cores here: a test that lost a race with the
    // machine gets one more run. A real fault fails twice; a retried test shows in the report.
    retry: 1,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['src/**/*.spec.ts', 'test/*.test.ts'] },
      },
      e2e('knative'),
      e2e('kafka'),
      {
        // Kills services, its own Kafka broker and PostgreSQL under load (test/chaos/chaos.test.ts);
        // on the kafka transport. One run: a retry would double a few minutes of faults.
        extends: true,
        test: {
          name: 'chaos',
          include: ['test/chaos/**/*.test.ts'],
          env: { SOUNDGOOD_E2E_TRANSPORT: 'kafka' },
          retry: 0,
          testTimeout: 420_000,
        },
      },
    ],
  },
});
