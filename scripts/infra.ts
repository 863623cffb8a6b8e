// The local platform without Docker, one module per component under scripts/infra/ (each with the
// same surface: prepare once into .cache/, start and wait until ready, stop by PID, its logs; see
// scripts/infra/component.ts):
//
//   kafka       Apache Kafka, single node (KRaft), from its Maven Central jars     KAFKA_BROKERS
//   postgres    PostgreSQL on a throwaway initdb data directory                     DATABASE_URL
//   knative     Knative's Kafka broker data plane (receiver + dispatcher), built     K_SINK
//               from source once; `up` builds it, its users start an instance with their own
//               contract (npm start: the catalog's Triggers to the local services; tests: theirs)
//   jaeger      Jaeger v2 (OTLP in, in-memory store, query API and UI), from Go     JAEGER_OTLP_ENDPOINT,
//               sources built once                                                  JAEGER_QUERY_URL
//
//   node scripts/infra.ts up            start what is not given, print the environment to use
//   node scripts/infra.ts down          stop what `up` started
//   node scripts/infra.ts env           print the environment of the running infrastructure
//   node scripts/infra.ts run -- CMD    up, run CMD with that environment, then stop what this call started
//
// KAFKA_BROKERS, DATABASE_URL and JAEGER_OTLP_ENDPOINT + JAEGER_QUERY_URL, when set, are used as they
// are and nothing is started for them.
// State (what was started, by PID) is kept in .cache/infra/state.json; logs are under .cache/infra/.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { log, type Running, stateDir } from './infra/component.ts';
import { jaeger, jaegerDefaultPorts } from './infra/jaeger.ts';
import { createTopics, kafka } from './infra/kafka.ts';
import { knative } from './infra/knative.ts';
import { postgres } from './infra/postgres.ts';

const stateFile = join(stateDir, 'state.json');
// Below Linux's ephemeral range (32768-60999): an outgoing connection never holds a port the
// platform then fails to bind (PostgreSQL on 55432 once could not start beside a busy test run).
const kafkaPort = Number(process.env.SOUNDGOOD_KAFKA_PORT ?? 19092);
const pgPort = Number(process.env.SOUNDGOOD_PG_PORT ?? 15432);
// Jaeger's customary ports (the UI on 16686, OTLP on 4318/4317); the gRPC neighbours are one below.
const jaegerUiPort = Number(process.env.SOUNDGOOD_JAEGER_UI_PORT ?? jaegerDefaultPorts.queryPort);
const jaegerOtlpPort = Number(process.env.SOUNDGOOD_JAEGER_OTLP_PORT ?? jaegerDefaultPorts.otlpHttpPort);

/** Topics the services use when run locally. Tests create their own. */
export const defaultTopics = ['soundgood.events', 'soundgood.dead-letters'];

export interface State {
  KAFKA_BROKERS: string;
  DATABASE_URL: string;
  /** Absent in a state file written before Jaeger was part of the platform. */
  JAEGER_OTLP_ENDPOINT?: string;
  JAEGER_QUERY_URL?: string;
  /** What `up` started itself (absent: given from outside, left alone). */
  started: { kafka?: Running; postgres?: Running; jaeger?: Running };
}

/** Reads the state file, also in its older shape ({ kafkaPid, pgDataDir }). */
function readState(): State | undefined {
  if (!existsSync(stateFile)) return undefined;
  const raw = JSON.parse(readFileSync(stateFile, 'utf8'));
  const { kafkaPid, pgDataDir, ...started } = raw.started as State['started'] & {
    kafkaPid?: number;
    pgDataDir?: string;
  };
  if (kafkaPid) started.kafka = { pids: [kafkaPid], env: { KAFKA_BROKERS: raw.KAFKA_BROKERS }, logs: [] };
  if (pgDataDir)
    started.postgres = { pids: [], env: { DATABASE_URL: raw.DATABASE_URL }, logs: [], dataDir: pgDataDir };
  const state: State = {
    KAFKA_BROKERS: raw.KAFKA_BROKERS,
    DATABASE_URL: raw.DATABASE_URL,
    JAEGER_OTLP_ENDPOINT: raw.JAEGER_OTLP_ENDPOINT,
    JAEGER_QUERY_URL: raw.JAEGER_QUERY_URL,
    started,
  };
  const up =
    (!started.kafka || kafka.alive(started.kafka)) &&
    (!started.postgres || postgres.alive(started.postgres)) &&
    (!started.jaeger || jaeger.alive(started.jaeger));
  return up ? state : undefined;
}

/**
 * `knative: false` skips building the data plane (for the kafka transport only); `jaegerUi: true`
 * (`npm start`) builds and serves the real Jaeger UI; `durable: false` (test runs) starts PostgreSQL
 * without fsync.
 */
export async function up(
  options: { knative?: boolean; jaegerUi?: boolean; durable?: boolean } = {},
): Promise<{ state: State; startedNow: boolean }> {
  const { knative: withKnative = true, jaegerUi = false, durable = true } = options;
  if (withKnative) await knative.prepare();
  const running = readState();
  if (running) {
    // Infrastructure started before Jaeger was part of it: add Jaeger, keep the rest as it is.
    if (!running.JAEGER_QUERY_URL && !(process.env.JAEGER_OTLP_ENDPOINT && process.env.JAEGER_QUERY_URL)) {
      await startJaeger(running, jaegerUi);
      writeFileSync(stateFile, JSON.stringify(running, null, 2));
    }
    return { state: running, startedNow: false };
  }
  mkdirSync(stateDir, { recursive: true });
  const state: State = { KAFKA_BROKERS: '', DATABASE_URL: '', started: {} };
  try {
    if (process.env.KAFKA_BROKERS) state.KAFKA_BROKERS = process.env.KAFKA_BROKERS;
    else {
      state.started.kafka = await kafka.start({ port: kafkaPort });
      state.KAFKA_BROKERS = state.started.kafka.env.KAFKA_BROKERS as string;
    }
    if (process.env.DATABASE_URL) state.DATABASE_URL = process.env.DATABASE_URL;
    else {
      state.started.postgres = await postgres.start({ port: pgPort, durable });
      state.DATABASE_URL = state.started.postgres.env.DATABASE_URL as string;
    }
    await startJaeger(state, jaegerUi);
    writeFileSync(stateFile, JSON.stringify(state, null, 2));
    await createTopics(state.KAFKA_BROKERS, defaultTopics);
  } catch (error) {
    await down(state);
    throw error;
  }
  log(`ready: KAFKA_BROKERS=${state.KAFKA_BROKERS} DATABASE_URL=${state.DATABASE_URL}`);
  return { state, startedNow: true };
}

async function startJaeger(state: State, ui: boolean): Promise<void> {
  if (process.env.JAEGER_OTLP_ENDPOINT && process.env.JAEGER_QUERY_URL) {
    state.JAEGER_OTLP_ENDPOINT = process.env.JAEGER_OTLP_ENDPOINT;
    state.JAEGER_QUERY_URL = process.env.JAEGER_QUERY_URL;
    return;
  }
  state.started.jaeger = await jaeger.start({
    otlpHttpPort: jaegerOtlpPort,
    otlpGrpcPort: jaegerOtlpPort - 1,
    queryPort: jaegerUiPort,
    queryGrpcPort: jaegerUiPort - 1,
    healthPort: jaegerUiPort + 1,
    ui,
  });
  state.JAEGER_OTLP_ENDPOINT = state.started.jaeger.env.JAEGER_OTLP_ENDPOINT;
  state.JAEGER_QUERY_URL = state.started.jaeger.env.JAEGER_QUERY_URL;
}

export async function down(state = readState()): Promise<void> {
  if (!state) return;
  if (state.started.kafka) await kafka.stop(state.started.kafka);
  if (state.started.postgres) await postgres.stop(state.started.postgres);
  if (state.started.jaeger) await jaeger.stop(state.started.jaeger);
  rmSync(stateFile, { force: true });
}

/** The variables that point clients at the running infrastructure. */
export function environment(state: State): Record<string, string> {
  const env: Record<string, string> = {
    KAFKA_BROKERS: state.KAFKA_BROKERS,
    DATABASE_URL: state.DATABASE_URL,
  };
  if (state.JAEGER_OTLP_ENDPOINT) env.JAEGER_OTLP_ENDPOINT = state.JAEGER_OTLP_ENDPOINT;
  if (state.JAEGER_QUERY_URL) env.JAEGER_QUERY_URL = state.JAEGER_QUERY_URL;
  return env;
}

function exports(state: State): string {
  return Object.entries(environment(state))
    .map(([name, value]) => `export ${name}=${value}\n`)
    .join('');
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'up':
      process.stdout.write(exports((await up()).state));
      return 0;
    case 'down':
      await down();
      return 0;
    case 'env': {
      const state = readState();
      if (!state) throw new Error('no infrastructure is running (node scripts/infra.ts up)');
      process.stdout.write(exports(state));
      return 0;
    }
    case 'run': {
      const args = rest[0] === '--' ? rest.slice(1) : rest;
      if (args.length === 0) throw new Error('usage: infra.ts run -- COMMAND [ARGS...]');
      // `run` is the test command's wrapper (`npm test`): a throwaway database need not wait on the disk.
      const { state, startedNow } = await up({ durable: false });
      const env = { ...process.env, ...environment(state) };
      const child = spawn(args[0] as string, args.slice(1), { stdio: 'inherit', env });
      const forward = (signal: NodeJS.Signals) => child.kill(signal);
      process.on('SIGINT', forward).on('SIGTERM', forward);
      const code = await new Promise<number>((done) => child.on('exit', (c, s) => done(c ?? (s ? 1 : 0))));
      if (startedNow) await down(state);
      return code;
    }
    default:
      throw new Error('usage: infra.ts up | down | env | run -- COMMAND');
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: Error) => {
      log(`error: ${error.message}`);
      process.exit(1);
    },
  );
}
