/**
 * The one small surface every local component has (`scripts/infra/<name>.ts`), so that
 * `scripts/infra.ts` composes them the same way and a new one (Jaeger, ...) slots in beside them:
 *
 * - `prepare()`  builds or fetches the component once into `.cache/<name>/<version>/` (a pin change
 *                rebuilds, nothing else does); cheap when cached.
 * - `start(o)`   starts it, waits until it is ready, and returns a {@link Running}: the PIDs to stop,
 *                the environment that points clients at it, and where its logs are. A Running is
 *                plain JSON: `scripts/infra.ts` keeps it in `.cache/infra/state.json`.
 * - `alive(r)`   whether what `start` returned is still running.
 * - `stop(r)`    stops it by PID (SIGTERM, then SIGKILL after a grace period).
 */
import { createConnection } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export interface Running {
  readonly pids: number[];
  /** Variables that point a client at this component, e.g. `KAFKA_BROKERS`. */
  readonly env: Record<string, string>;
  readonly logs: string[];
  /** Whatever else `stop` needs (PostgreSQL: its data directory). */
  readonly dataDir?: string;
}

export interface Component<Options> {
  readonly name: string;
  /** The pinned version: cached artifacts are keyed by it. */
  readonly version: string;
  prepare(): Promise<void>;
  start(options: Options): Promise<Running>;
  alive(running: Running): boolean;
  stop(running: Running): Promise<void>;
}

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where `scripts/infra.ts` keeps its state file and the logs of what it starts. */
export const stateDir = join(root, '.cache', 'infra');

export function log(message: string): void {
  process.stderr.write(`infra: ${message}\n`);
}

export function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM each process, SIGKILL what is still there after `graceMs`. */
export async function stopPids(pids: number[], graceMs = 30_000): Promise<void> {
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pids.some(alive) && Date.now() < deadline) await sleep(200);
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
}

export function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise<boolean>((done) => {
    const socket = createConnection({ host, port }, () => {
      socket.destroy();
      done(true);
    });
    socket.on('error', () => done(false));
  });
}

/** Polls `ready` until it is true; fails early when one of `pids` has exited. */
export async function waitUntil(
  what: string,
  ready: () => Promise<boolean> | boolean,
  timeoutMs: number,
  pids: number[] = [],
  logs: string[] = [],
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const dead = pids.find((pid) => !alive(pid));
    if (dead) throw new Error(`${what}: process ${dead} exited (logs: ${logs.join(', ')})`);
    if (await ready()) return;
    await sleep(250);
  }
  throw new Error(`${what} was not ready within ${timeoutMs} ms (logs: ${logs.join(', ')})`);
}
