// The five Soundgood services as separate processes, on the knative or the kafka transport: used by
// `npm start`, the end-to-end tests and the benchmark. Each service gets its own database on the
// given PostgreSQL server.
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type DevIssuer, startDevIssuer } from '../events/runtime/dist/auth/dev-issuer.js';

export const serviceNames = ['rentals', 'students', 'inventory', 'billing', 'notifications'] as const;
export type ServiceName = (typeof serviceNames)[number];

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface ServiceProcess {
  name: ServiceName;
  url: string;
  metricsUrl: string;
  env: Record<string, string>;
  child?: ChildProcess;
  /** The last lines the process wrote, for a failing test's message. */
  output: string[];
}

export interface StartOptions {
  env: Record<string, string>;
  /** Prints each log line, prefixed with the service name. */
  echo?: boolean;
}

/** Starts one service and waits until its /readyz answers 200. */
export async function startService(service: ServiceProcess, options: { echo?: boolean } = {}): Promise<void> {
  // OpenTelemetry starts before the service's own modules load (see events/runtime/src/telemetry).
  const register = join(root, 'events', 'runtime', 'dist', 'telemetry', 'register.js');
  const main = join(root, 'services', service.name, 'dist', 'main.js');
  const child = spawn(process.execPath, ['--import', register, main], {
    env: { ...process.env, ...service.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  service.child = child;
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line) continue;
      service.output.push(line);
      if (service.output.length > 200) service.output.shift();
      if (options.echo) process.stdout.write(`${service.name.padEnd(13)}| ${line}\n`);
    }
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  // Generous: under CI's load a service's start (Node, Nest, Prisma, the transport) took up to ~50 s.
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(
        `${service.name} exited with ${child.exitCode}:\n${service.output.slice(-20).join('\n')}`,
      );
    }
    const ready = await fetch(`${service.url}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) return;
    await sleep(200);
  }
  throw new Error(`${service.name} was not ready within 120 s:\n${service.output.slice(-20).join('\n')}`);
}

/** SIGTERM (graceful), or SIGKILL to simulate a crash. */
export async function stopService(
  service: ServiceProcess,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  const child = service.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

export function describeService(
  name: ServiceName,
  port: number,
  metricsPort: number,
  env: Record<string, string>,
): ServiceProcess {
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    env: { ...env, PORT: String(port), METRICS_PORT: String(metricsPort), OTEL_SERVICE_NAME: name },
    output: [],
  };
}

/** A service's environment on the kafka transport: its own database and the run's topics. */
export function kafkaEnvironment(
  databaseUrl: string,
  brokers: string,
  topics: { events: string; deadLetters: string },
): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    EVENT_TRANSPORT: 'kafka',
    KAFKA_BROKERS: brokers,
    KAFKA_TOPIC: topics.events,
    KAFKA_DEAD_LETTER_TOPIC: topics.deadLetters,
    LOG_LEVEL: 'warn',
  };
}

/**
 * A service's environment on the knative transport: it publishes to the broker ingress (`K_SINK`)
 * and receives the Triggers' deliveries on `/events`, as in a cluster.
 */
export function knativeEnvironment(databaseUrl: string, sink: string): Record<string, string> {
  return { DATABASE_URL: databaseUrl, EVENT_TRANSPORT: 'knative', K_SINK: sink, LOG_LEVEL: 'warn' };
}

export interface StackIssuer {
  issuer: DevIssuer;
  /** What every service of the stack needs to accept the issuer's tokens. */
  env: Record<string, string>;
  /** `Authorization: Bearer <staff token>`, for the stack's own calls (seeding, checks). */
  staff: Record<string, string>;
}

/**
 * The development OIDC issuer a local stack trusts (events/runtime/src/auth/dev-issuer.ts): on a
 * free port unless `port` is given; `keyFile` keeps its key, so printed tokens survive a restart.
 */
export async function startStackIssuer(
  options: { port?: number; keyFile?: string; tokenLifetimeS?: number } = {},
): Promise<StackIssuer> {
  const issuer = await startDevIssuer(options);
  const staffToken = await issuer.staff({ expiresIn: options.tokenLifetimeS ?? 24 * 3600 });
  return { issuer, env: { ...issuer.env }, staff: { authorization: `Bearer ${staffToken}` } };
}
