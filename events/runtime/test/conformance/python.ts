/**
 * Installs the CloudEvents Python SDK (test/conformance/python/requirements.txt, pinned) once into
 * `.cache/conformance/python-<digest>/`, keyed by the requirements, from PyPI; fails loudly when
 * Python or pip is missing. Returns the PYTHONPATH to run test/conformance/python/sender.py with.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const pythonSender = join(import.meta.dirname, 'python', 'sender.py');
const requirements = join(import.meta.dirname, 'python', 'requirements.txt');
const cacheRoot = resolve(import.meta.dirname, '../../../../.cache/conformance');

export function installPythonSdk(): string {
  const digest = createHash('sha256').update(readFileSync(requirements)).digest('hex').slice(0, 16);
  const target = join(cacheRoot, `python-${digest}`);
  if (existsSync(join(target, 'cloudevents'))) return target;
  mkdirSync(cacheRoot, { recursive: true });
  const partial = `${target}.partial`;
  rmSync(partial, { recursive: true, force: true });
  try {
    execFileSync(
      'python3',
      [
        '-m',
        'pip',
        'install',
        '--quiet',
        '--no-deps',
        '--only-binary=:all:',
        '--target',
        partial,
        '-r',
        requirements,
      ],
      { stdio: ['ignore', 'inherit', 'pipe'] },
    );
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(
      `cannot install the CloudEvents Python SDK (${requirements}): Python 3.10+, pip and PyPI are needed.\n${stderr || (error as Error).message}`,
    );
  }
  renameSync(partial, target);
  return target;
}
