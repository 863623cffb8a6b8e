import { defineConfig } from 'vitest/config';

// kubectl kustomize runs once per entry point and is cached per test file; a cold run takes a few seconds.
export default defineConfig({ test: { include: ['test/**/*.test.ts'], testTimeout: 60_000 } });
