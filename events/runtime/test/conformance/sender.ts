/**
 * Builds the Go sender (test/conformance/sender: the CloudEvents Go SDK posting events) once into
 * `.cache/conformance/sender-<digest>/`, keyed by its go.mod, go.sum and source, as
 * k8s/test/cluster/build.ts builds its Go tools: through the Go module proxy, into a temporary
 * directory first, failing loudly when Go is missing or the build fails. The CloudEvents conformance
 * tool itself (github.com/cloudevents/conformance) is refused by the proxy (403), hence the SDK.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

const source = join(import.meta.dirname, 'sender');
const cacheRoot = resolve(import.meta.dirname, '../../../../.cache/conformance');
const go = existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : 'go';

export function buildSender(): string {
  const digest = createHash('sha256');
  for (const file of ['go.mod', 'go.sum', 'main.go']) digest.update(readFileSync(join(source, file)));
  const dir = join(cacheRoot, `sender-${digest.digest('hex').slice(0, 16)}`);
  const binary = join(dir, 'sender');
  if (existsSync(binary)) return binary;
  mkdirSync(dir, { recursive: true });
  const partial = join(dir, 'sender.partial');
  rmSync(partial, { force: true });
  try {
    // nice: the machine's cores are shared with the rest of the test run; -mod=readonly: go.sum pins.
    execFileSync(
      'nice',
      ['-n', '10', go, 'build', '-mod=readonly', '-trimpath', '-ldflags', '-s -w', '-o', partial, '.'],
      {
        cwd: source,
        env: { ...process.env, GOFLAGS: '-buildvcs=false', GOTOOLCHAIN: 'local' },
        stdio: ['ignore', 'inherit', 'pipe'],
      },
    );
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(
      `cannot build the CloudEvents conformance sender (${source}) with ${go}: Go and the Go module proxy are needed.\n${stderr || (error as Error).message}`,
    );
  }
  renameSync(partial, binary);
  return binary;
}
