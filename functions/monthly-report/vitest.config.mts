import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.spec.ts', 'test/**/*.test.mts'],
    // The integration test runs the five services and a broker data plane: one file at a time.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 240_000,
    // The report's real stack is the Knative one: the function publishes to the broker's ingress.
    env: { SOUNDGOOD_E2E_TRANSPORT: 'knative' },
  },
});
