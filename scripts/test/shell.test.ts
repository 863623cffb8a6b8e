import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lint, repoRoot, toolPaths } from './tools.js';

// The shell scripts the compose file, the Flux bootstrap and the e2e workflow run (workflow run: blocks go
// through actionlint).
const scripts = [
  join(repoRoot, 'scripts', 'compose'),
  join(repoRoot, 'flux'),
  join(repoRoot, '.github', 'e2e'),
].flatMap((dir) =>
  readdirSync(dir)
    .filter((file) => file.endsWith('.sh'))
    .map((file) => join(dir, file)),
);

describe('shell scripts', () => {
  it('pass shellcheck', () => {
    expect(scripts.length).toBeGreaterThanOrEqual(3);
    const { code, output } = lint(toolPaths.shellcheck, scripts);
    expect(output).toBe('');
    expect(code).toBe(0);
  });

  it('shellcheck fails a broken fixture, naming its findings', () => {
    const { code, output } = lint(toolPaths.shellcheck, [
      join(import.meta.dirname, 'fixtures', 'shell', 'broken.sh'),
    ]);
    expect(code).not.toBe(0);
    for (const rule of ['SC2086', 'SC2164', 'SC2013']) expect(output).toContain(rule);
  });
});
