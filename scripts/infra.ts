// Local infrastructure without Docker: a single-node Apache Kafka (KRaft, from its Maven Central jars)
// and a PostgreSQL server (a throwaway initdb data directory).
//
//   node scripts/infra.ts up            start what is not given, print the environment to use
//   node scripts/infra.ts down          stop what `up` started
//   node scripts/infra.ts env           print the environment of the running infrastructure
//   node scripts/infra.ts run -- CMD    up, run CMD with that environment, then stop what this call started
//
// KAFKA_BROKERS and DATABASE_URL, when set, are used as they are and nothing is started for them.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const stateDir = join(root, '.cache', 'infra');
const stateFile = join(stateDir, 'state.json');
const kafkaPort = Number(process.env.SOUNDGOOD_KAFKA_PORT ?? 19092);
const pgPort = Number(process.env.SOUNDGOOD_PG_PORT ?? 55432);

/** Topics the services use when run locally on the kafka transport. Tests create their own. */
export const defaultTopics = ['soundgood.events', 'soundgood.dead-letters'];

interface State {
  KAFKA_BROKERS: string;
  DATABASE_URL: string;
  started: { kafkaPid?: number; pgDataDir?: string };
}

function log(message: string): void {
  process.stderr.write(`infra: ${message}\n`);
}

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readState(): State | undefined {
  if (!existsSync(stateFile)) return undefined;
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as State;
  const kafkaUp = !state.started.kafkaPid || alive(state.started.kafkaPid);
  const pgUp = !state.started.pgDataDir || existsSync(join(state.started.pgDataDir, 'postmaster.pid'));
  return kafkaUp && pgUp ? state : undefined;
}

async function waitForPort(
  port: number,
  what: string,
  timeoutMs: number,
  child?: ChildProcess,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode}`);
    const open = await new Promise<boolean>((done) => {
      const socket = createConnection({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        done(true);
      });
      socket.on('error', () => done(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

function kafkaLibs(): string {
  const libs = join(root, '.cache', 'kafka', 'libs');
  if (!existsSync(libs) || readdirSync(libs).length === 0) {
    log('resolving Apache Kafka jars from Maven Central (once)');
    const pom = join(root, 'scripts', 'kafka', 'pom.xml');
    const result = spawnSync(
      'mvn',
      [
        '-q',
        '-B',
        '-f',
        pom,
        'dependency:copy-dependencies',
        `-DoutputDirectory=${libs}`,
        '-DincludeScope=runtime',
      ],
      { stdio: 'inherit' },
    );
    if (result.status !== 0) throw new Error('mvn could not resolve the Kafka jars (is Maven installed?)');
  }
  return join(libs, '*');
}

async function startKafka(): Promise<number> {
  const classpath = kafkaLibs();
  const dataDir = join(stateDir, 'kafka-data');
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const properties = readFileSync(join(root, 'scripts', 'kafka', 'server.properties'), 'utf8')
    .replaceAll('@KAFKA_PORT@', String(kafkaPort))
    .replaceAll('@CONTROLLER_PORT@', String(kafkaPort + 1))
    .replaceAll('@DATA_DIR@', dataDir);
  const propertiesFile = join(stateDir, 'server.properties');
  writeFileSync(propertiesFile, properties);
  const java = (args: string[]) =>
    execFileSync('java', ['-cp', classpath, ...args], { encoding: 'utf8' }).trim();
  const clusterId = java(['kafka.tools.StorageTool', 'random-uuid']);
  java(['kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', propertiesFile, '--standalone']);

  log(`starting Kafka on 127.0.0.1:${kafkaPort}`);
  const logFd = openSync(join(stateDir, 'kafka.log'), 'w');
  const child = spawn(
    'java',
    [
      '-Xms256m',
      '-Xmx768m',
      `-Dlog4j2.configurationFile=${join(root, 'scripts', 'kafka', 'log4j2.yaml')}`,
      '-cp',
      classpath,
      'kafka.Kafka',
      propertiesFile,
    ],
    { detached: true, stdio: ['ignore', logFd, logFd] },
  );
  child.unref();
  await waitForPort(kafkaPort, 'Kafka', 60_000, child);
  return child.pid as number;
}

function pgBinDir(): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base)
        .map(Number)
        .filter((v) => v > 0)
        .sort((a, b) => b - a)
    : [];
  for (const version of versions) {
    const bin = join(base, String(version), 'bin');
    if (existsSync(join(bin, 'initdb'))) return bin;
  }
  throw new Error(
    'no PostgreSQL server found under /usr/lib/postgresql (apt-get install postgresql), or set DATABASE_URL',
  );
}

/** PostgreSQL refuses to run as root: as root, run its programs as the postgres user. */
function asPgUser(command: string, args: string[]): string[] {
  return process.getuid?.() === 0
    ? ['runuser', '-u', 'postgres', '--', command, ...args]
    : [command, ...args];
}

function runPg(command: string, args: string[]): void {
  const [program, ...rest] = asPgUser(command, args);
  const result = spawnSync(program as string, rest, { stdio: ['ignore', 'ignore', 'inherit'] });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed with code ${result.status}`);
}

async function startPostgres(): Promise<string> {
  const bin = pgBinDir();
  // In the temp dir: the postgres user must reach it, whoever owns the checkout.
  const dir = join(tmpdir(), `soundgood-pg-${pgPort}`);
  const dataDir = join(dir, 'data');
  if (existsSync(join(dataDir, 'postmaster.pid')))
    runPg(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'fast', 'stop']);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  if (process.getuid?.() === 0) execFileSync('chown', ['postgres', dir]);
  runPg(join(bin, 'initdb'), ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
  log(`starting PostgreSQL on 127.0.0.1:${pgPort}`);
  runPg(join(bin, 'pg_ctl'), [
    '-D',
    dataDir,
    '-l',
    join(dir, 'postgres.log'),
    '-w',
    '-o',
    `-p ${pgPort} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=300`,
    'start',
  ]);
  return dataDir;
}

async function createTopics(brokers: string, topics: string[]): Promise<void> {
  const admin = new Kafka({
    clientId: 'soundgood-infra',
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length > 0) {
      await admin.createTopics({ topics: missing.map((topic) => ({ topic, numPartitions: 3 })) });
    }
    // Wait for every partition's leader ourselves: right after creation KRaft may briefly answer
    // "does not host this topic-partition", which kafkajs's waitForLeaders does not retry.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const metadata = await admin.fetchTopicMetadata({ topics }).catch(() => undefined);
      if (metadata?.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0)))
        return;
      if (Date.now() > deadline) throw new Error(`topics ${topics.join(', ')} have no leaders after 30 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await admin.disconnect();
  }
}

export async function up(): Promise<{ state: State; startedNow: boolean }> {
  const running = readState();
  if (running) return { state: running, startedNow: false };
  mkdirSync(stateDir, { recursive: true });
  const started: State['started'] = {};
  const state: State = { KAFKA_BROKERS: '', DATABASE_URL: '', started };
  try {
    if (process.env.KAFKA_BROKERS) {
      state.KAFKA_BROKERS = process.env.KAFKA_BROKERS;
    } else {
      started.kafkaPid = await startKafka();
      state.KAFKA_BROKERS = `127.0.0.1:${kafkaPort}`;
    }
    if (process.env.DATABASE_URL) {
      state.DATABASE_URL = process.env.DATABASE_URL;
    } else {
      started.pgDataDir = await startPostgres();
      state.DATABASE_URL = `postgresql://postgres@127.0.0.1:${pgPort}/postgres`;
    }
    writeFileSync(stateFile, JSON.stringify(state, null, 2));
    await createTopics(state.KAFKA_BROKERS, defaultTopics);
  } catch (error) {
    await down(state);
    throw error;
  }
  log(`ready: KAFKA_BROKERS=${state.KAFKA_BROKERS} DATABASE_URL=${state.DATABASE_URL}`);
  return { state, startedNow: true };
}

export async function down(state = readState()): Promise<void> {
  if (!state) return;
  const { kafkaPid, pgDataDir } = state.started;
  if (kafkaPid && alive(kafkaPid)) {
    log('stopping Kafka');
    process.kill(kafkaPid, 'SIGTERM');
    const deadline = Date.now() + 30_000;
    while (alive(kafkaPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    if (alive(kafkaPid)) process.kill(kafkaPid, 'SIGKILL');
  }
  if (pgDataDir && existsSync(join(pgDataDir, 'postmaster.pid'))) {
    log('stopping PostgreSQL');
    runPg(join(pgBinDir(), 'pg_ctl'), ['-D', pgDataDir, '-m', 'fast', '-w', 'stop']);
  }
  rmSync(stateFile, { force: true });
}

function exports(state: State): string {
  return `export KAFKA_BROKERS=${state.KAFKA_BROKERS}\nexport DATABASE_URL=${state.DATABASE_URL}\n`;
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
      const { state, startedNow } = await up();
      const env = { ...process.env, KAFKA_BROKERS: state.KAFKA_BROKERS, DATABASE_URL: state.DATABASE_URL };
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
