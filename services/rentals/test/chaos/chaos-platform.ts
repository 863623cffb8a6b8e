/**
 * A Kafka and a PostgreSQL of the chaos suite's own, which it may kill: started from the local
 * platform's components (scripts/infra/{kafka,postgres}.ts) on ports and data directories that no
 * one else uses, so the shared instances are never touched. Kafka restarts on its data (a crashed
 * broker coming back); PostgreSQL stops with `-m immediate` (no shutdown checkpoint: crash recovery
 * at start) and starts again on the same data directory.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { alive, type Running, root } from '../../../../scripts/infra/component.ts';
import { kafka } from '../../../../scripts/infra/kafka.ts';
import { postgres } from '../../../../scripts/infra/postgres.ts';

/**
 * Fixed ports beside the local platform's (Kafka 19092, PostgreSQL 15432): Kafka 19192 (its controller one
 * above), PostgreSQL 15532; SOUNDGOOD_CHAOS_KAFKA_PORT / SOUNDGOOD_CHAOS_PG_PORT move them.
 */
export const chaosPorts = {
  kafka: Number(process.env.SOUNDGOOD_CHAOS_KAFKA_PORT ?? 19192),
  postgres: Number(process.env.SOUNDGOOD_CHAOS_PG_PORT ?? 15532),
} as const;
const kafkaDir = join(root, '.cache', 'chaos', `kafka-${chaosPorts.kafka}`);

export interface ChaosPlatform {
  env: { KAFKA_BROKERS: string; DATABASE_URL: string };
  /** SIGKILL the broker: no controlled shutdown, as a crashed node or an OOM kill. */
  killKafka(): Promise<void>;
  /** Starts the broker again on the data it had; resolves once its port accepts connections. */
  startKafka(): Promise<void>;
  /** `pg_ctl stop -m immediate`: every backend is killed, the next start runs crash recovery. */
  stopPostgres(): void;
  startPostgres(): void;
  close(): Promise<void>;
}

export async function startChaosPlatform(): Promise<ChaosPlatform> {
  mkdirSync(kafkaDir, { recursive: true });
  let kafkaRunning: Running = await kafka.start({ port: chaosPorts.kafka, dir: kafkaDir });
  let pgRunning: Running;
  try {
    pgRunning = await postgres.start({ port: chaosPorts.postgres });
  } catch (error) {
    await kafka.stop(kafkaRunning);
    throw error;
  }
  const dataDir = pgRunning.dataDir as string;
  // The server's own command line, as it was started: its binary, port, socket dir and settings.
  const opts = readFileSync(join(dataDir, 'postmaster.opts'), 'utf8');
  const binary = opts.trim().split(' ')[0] as string;
  const words = [...opts.matchAll(/"([^"]*)"/g)].map((m) => m[1] as string);
  const pgCtl = join(dirname(binary), 'pg_ctl');
  const serverOptions = words.filter((_, i, all) => all[i] !== '-D' && all[i - 1] !== '-D').join(' ');
  const asPostgres = (args: string[]) => {
    const [program, ...rest] =
      process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', pgCtl, ...args] : [pgCtl, ...args];
    const result = spawnSync(program as string, rest, { stdio: ['ignore', 'ignore', 'pipe'] });
    if (result.status !== 0) throw new Error(`pg_ctl ${args.join(' ')}: ${result.stderr.toString()}`);
  };

  return {
    env: {
      KAFKA_BROKERS: kafkaRunning.env.KAFKA_BROKERS as string,
      DATABASE_URL: pgRunning.env.DATABASE_URL as string,
    },
    async killKafka() {
      for (const pid of kafkaRunning.pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
      while (kafkaRunning.pids.some(alive)) await new Promise((r) => setTimeout(r, 50));
    },
    async startKafka() {
      kafkaRunning = await kafka.start({ port: chaosPorts.kafka, dir: kafkaDir, keepData: true });
    },
    stopPostgres() {
      asPostgres(['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
    },
    startPostgres() {
      asPostgres(['-D', dataDir, '-l', pgRunning.logs[0] as string, '-w', '-o', serverOptions, 'start']);
    },
    async close() {
      await kafka.stop(kafkaRunning);
      await postgres.stop(pgRunning);
    },
  };
}
