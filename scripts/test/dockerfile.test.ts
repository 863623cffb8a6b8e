import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dockerfileErrors, parseDockerfile, readIfExists } from './dockerfile.js';
import { lint, repoRoot, toolPaths } from './tools.js';

const dockerfile = join(repoRoot, 'services', 'Dockerfile');
const brokenDockerfile = join(import.meta.dirname, 'fixtures', 'docker', 'Dockerfile');

describe('services/Dockerfile', () => {
  it('passes hadolint with no finding at any level', () => {
    const { code, output } = lint(toolPaths.hadolint, [
      '--no-color',
      '--failure-threshold',
      'style',
      dockerfile,
    ]);
    expect(output).toBe('');
    expect(code).toBe(0);
  });

  it('follows the image rules: pinned bases, non-root, no secrets, production dependencies, healthcheck', () => {
    const errors = dockerfileErrors(
      readFileSync(dockerfile, 'utf8'),
      readIfExists(join(repoRoot, '.dockerignore')),
    );
    expect(errors).toEqual([]);
  });

  it('installs the turbo version the lockfile pins', () => {
    const lockfile = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8'));
    const turboVersion = parseDockerfile(readFileSync(dockerfile, 'utf8'))
      .flatMap((stage) => stage.instructions)
      .find((i) => i.keyword === 'ARG' && i.args.startsWith('TURBO_VERSION='))
      ?.args.split('=')[1];
    expect(turboVersion).toBe(lockfile.packages['node_modules/turbo'].version);
  });

  it('builds a runtime (default) and a migrate target, both as the non-root user 1000', () => {
    const stages = parseDockerfile(readFileSync(dockerfile, 'utf8'));
    expect(stages.at(-1)?.name).toBe('runtime');
    for (const name of ['runtime', 'migrate']) {
      const user = stages
        .find((stage) => stage.name === name)
        ?.instructions.findLast((i) => i.keyword === 'USER');
      expect(user?.args, name).toBe('1000:1000');
    }
  });
});

describe('the Dockerfile checks on a broken fixture', () => {
  it('hadolint reports its findings and fails', () => {
    const { code, output } = lint(toolPaths.hadolint, ['--no-color', brokenDockerfile]);
    expect(code).not.toBe(0);
    for (const rule of ['DL3007', 'DL3064', 'DL3003', 'DL3002', 'DL3025']) expect(output).toContain(rule);
  });

  it('the image rules report every violation', () => {
    const errors = dockerfileErrors(
      readFileSync(brokenDockerfile, 'utf8'),
      readIfExists(join(brokenDockerfile, '..', '.dockerignore')),
    );
    expect(errors).toEqual([
      'stage build: base image node:latest is not pinned to a digest or an exact version',
      'line 3: ARG NPM_TOKEN looks like a secret; use a build secret mount',
      'line 6: COPY .npmrc puts a secret into a layer',
      'stage 1: base image node:24-slim is not pinned to a digest or an exact version',
      'line 11: ENV DATABASE_PASSWORD looks like a secret; use a build secret mount',
      'line 11: ENV carries credentials in a URL',
      'line 14: copies node_modules from build, which has development dependencies',
      'final stage 1: takes no node_modules from an `npm ci --omit=dev` stage',
      'final stage 1: USER root must be a numeric non-root uid (Kubernetes runAsNonRoot checks it)',
      'final stage 1: no HEALTHCHECK',
      '.dockerignore is missing: the whole build context (node_modules, .git, .env) would be sent',
    ]);
  });
});
