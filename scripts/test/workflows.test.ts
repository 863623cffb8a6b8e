import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { dockerfileErrors, parseDockerfile, readIfExists } from './dockerfile.js';
import { lint, repoRoot, toolPaths } from './tools.js';
import { workflowErrors } from './workflows.js';

const workflowsDir = join(repoRoot, '.github', 'workflows');
const workflows = readdirSync(workflowsDir)
  .filter((file) => /\.ya?ml$/.test(file))
  .map((file) => join(workflowsDir, file));
const brokenWorkflow = join(import.meta.dirname, 'fixtures', 'workflows', 'broken.yml');

// shellcheck checks the `run:` scripts; pyflakes is off (no Python steps), so results do not depend
// on what happens to be installed on the machine.
const actionlintArgs = ['-no-color', '-shellcheck', toolPaths.shellcheck, '-pyflakes', ''];

describe('.github/workflows', () => {
  it('has the CI, image and end-to-end workflows', () => {
    expect(workflows.map((file) => file.split('/').at(-1)).sort()).toEqual([
      'ci.yml',
      'e2e.yml',
      'images.yml',
    ]);
  });

  it('passes actionlint, with shellcheck on every run: script', () => {
    const { code, output } = lint(toolPaths.actionlint, [...actionlintArgs, ...workflows]);
    expect(output).toBe('');
    expect(code).toBe(0);
  });

  it.each(workflows)('%s pins every action by commit sha and grants least-privilege permissions', (file) => {
    expect(workflowErrors(readFileSync(file, 'utf8'))).toEqual([]);
  });
});

describe('the images workflow builds every OpenFaaS function', () => {
  const images = parseYaml(readFileSync(join(workflowsDir, 'images.yml'), 'utf8'));
  const job = images.jobs.function;
  const built: string[] = job.strategy.matrix.function;
  const functions = readdirSync(join(repoRoot, 'functions')).filter((name) =>
    existsSync(join(repoRoot, 'functions', name, 'package.json')),
  );

  it('has a matrix entry per functions/<name> workspace, built from its own Dockerfile', () => {
    expect([...built].sort()).toEqual([...functions].sort());
    const build = job.steps.find((step: { id?: string }) => step.id === 'build');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, not a JS template
    expect(build.with.file).toBe('functions/${{ matrix.function }}/Dockerfile');
    expect(build.with.context).toBe('.'); // the workspaces it depends on are outside its folder
    for (const name of built) {
      const stages = parseDockerfile(readFileSync(join(repoRoot, 'functions', name, 'Dockerfile'), 'utf8'));
      expect(stages.at(-1)?.name, name).toBe(build.with.target);
    }
  });

  it.each(functions)('functions/%s/Dockerfile passes hadolint and the image rules', (name) => {
    const dockerfile = join(repoRoot, 'functions', name, 'Dockerfile');
    const { code, output } = lint(toolPaths.hadolint, [
      '--no-color',
      '--failure-threshold',
      'style',
      dockerfile,
    ]);
    expect(output).toBe('');
    expect(code).toBe(0);
    expect(
      dockerfileErrors(readFileSync(dockerfile, 'utf8'), readIfExists(join(repoRoot, '.dockerignore'))),
    ).toEqual([]);
  });

  it('builds the function as the OpenFaaS template runs it: of-watchdog in http mode before the template server', () => {
    for (const name of built) {
      const text = readFileSync(join(repoRoot, 'functions', name, 'Dockerfile'), 'utf8');
      expect(text).toMatch(/^FROM ghcr\.io\/openfaas\/of-watchdog:\d+\.\d+\.\d+ AS watchdog$/m);
      expect(text).toContain(`fprocess="node functions/${name}/dist/index.js"`);
      expect(text).toMatch(/mode=http/);
      expect(text).toMatch(/^CMD \["fwatchdog"\]$/m);
    }
  });
});

describe('the workflow checks on a broken fixture', () => {
  it('actionlint reports the undefined matrix value, the script injection, shellcheck findings and the missing job', () => {
    const { code, output } = lint(toolPaths.actionlint, [...actionlintArgs, brokenWorkflow]);
    expect(code).not.toBe(0);
    expect(output).toContain('property "node" is not defined in object type {}');
    expect(output).toContain('"github.event.pull_request.title" is potentially untrusted');
    expect(output).toContain('SC2086');
    expect(output).toContain('job "deploy" needs job "tests" which does not exist in this workflow');
  });

  it('the pinning and permission rules report every violation', () => {
    expect(workflowErrors(readFileSync(brokenWorkflow, 'utf8'))).toEqual([
      'line 16: actions/checkout is pinned to "v4", not to a full commit sha',
      'line 17: docker/build-push-action is pinned to "1234567", not to a full commit sha',
      'line 18: actions/setup-node@48b55a011bda9f5d6aeb4c2d9c7362e8dae4041e has no "# vX.Y.Z" comment naming the version',
      'top level: permissions: write-all is broader than needed; list the scopes',
      'on: pull_request_target runs untrusted code with a write token; use pull_request',
      'job build: image postgres:latest is not pinned to a version or digest',
    ]);
  });
});
