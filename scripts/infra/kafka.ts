/**
 * Apache Kafka, single node in KRaft mode, run from its Maven Central jars (resolved once by
 * `scripts/kafka/pom.xml` into `.cache/kafka/<version>/libs`). Log: `.cache/infra/kafka.log`.
 * `createTopics` is here too: topics must exist before the services or the data plane use them.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import {
  alive,
  type Component,
  log,
  portOpen,
  type Running,
  root,
  stateDir,
  stopPids,
  waitUntil,
} from './component.ts';

const pom = join(root, 'scripts', 'kafka', 'pom.xml');
const version = /<kafka\.version>([^<]+)</.exec(readFileSync(pom, 'utf8'))?.[1] ?? 'unknown';
const libs = join(root, '.cache', 'kafka', version, 'libs');

export interface KafkaOptions {
  port: number;
  /** Where its data, properties and log go (default `.cache/infra`): a second Kafka needs its own. */
  dir?: string;
  /** Start on the data already in `dir` (a restart after a crash) instead of a fresh, formatted one. */
  keepData?: boolean;
}

export const kafka: Component<KafkaOptions> = {
  name: 'kafka',
  version,

  async prepare() {
    if (existsSync(libs) && readdirSync(libs).length > 0) return;
    log(`resolving Apache Kafka ${version} jars from Maven Central (once)`);
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
  },

  async start({ port, dir = stateDir, keepData = false }) {
    await this.prepare();
    const classpath = join(libs, '*');
    const dataDir = join(dir, 'kafka-data');
    const propertiesFile = join(dir, 'server.properties');
    const java = (args: string[]) =>
      execFileSync('java', ['-cp', classpath, ...args], { encoding: 'utf8' }).trim();
    if (!keepData || !existsSync(join(dataDir, 'meta.properties'))) {
      rmSync(dataDir, { recursive: true, force: true });
      mkdirSync(dataDir, { recursive: true });
      formatStorage(dataDir, propertiesFile, port, java);
    }

    log(`starting Kafka ${version} on 127.0.0.1:${port}`);
    const logFile = join(dir, 'kafka.log');
    const logFd = openSync(logFile, keepData ? 'a' : 'w');
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
    const running: Running = {
      pids: [child.pid as number],
      env: { KAFKA_BROKERS: `127.0.0.1:${port}` },
      logs: [logFile],
    };
    await waitUntil('Kafka', () => portOpen(port), 60_000, running.pids, running.logs);
    return running;
  },

  alive: (running) => running.pids.every(alive),

  async stop(running) {
    log('stopping Kafka');
    await stopPids(running.pids);
  },
};

/** Writes the node's properties and formats its (empty) data directory as a new KRaft cluster. */
function formatStorage(
  dataDir: string,
  propertiesFile: string,
  port: number,
  java: (args: string[]) => string,
): void {
  const properties = readFileSync(join(root, 'scripts', 'kafka', 'server.properties'), 'utf8')
    .replaceAll('@KAFKA_PORT@', String(port))
    .replaceAll('@CONTROLLER_PORT@', String(port + 1))
    .replaceAll('@DATA_DIR@', dataDir);
  writeFileSync(propertiesFile, properties);
  const clusterId = java(['kafka.tools.StorageTool', 'random-uuid']);
  java(['kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', propertiesFile, '--standalone']);
}

/** Creates the topics that do not exist yet (3 partitions) and waits until each has a leader. */
export async function createTopics(brokers: string, topics: string[]): Promise<void> {
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
      // waitForLeaders off: kafkajs's own wait throws on KRaft's first answer instead of retrying.
      await admin.createTopics({
        topics: missing.map((topic) => ({ topic, numPartitions: 3 })),
        waitForLeaders: false,
      });
    }
    // Wait for every partition's leader ourselves: right after creation KRaft may briefly answer
    // "does not host this topic-partition", which kafkajs's waitForLeaders does not retry.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const metadata = await admin.fetchTopicMetadata({ topics }).catch(() => undefined);
      if (metadata?.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0)))
        return;
      if (Date.now() > deadline) throw new Error(`topics ${topics.join(', ')} have no leaders after 30 s`);
      await sleep(200);
    }
  } finally {
    await admin.disconnect();
  }
}
