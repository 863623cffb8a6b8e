import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The cluster test files share one control plane and reset it in turn: one file at a time.
    fileParallelism: false,
    projects: [
      {
        // kubectl kustomize runs once per entry point and is cached per test file; a cold run takes a few seconds.
        test: { name: 'offline', include: ['test/*.test.ts'], testTimeout: 60_000 },
      },
      {
        // A real API server, controller-manager, scheduler, kwok and Flux's source- and kustomize-controller (test/cluster).
        test: {
          name: 'cluster',
          include: ['test/cluster/*.test.ts'],
          globalSetup: ['test/cluster/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
