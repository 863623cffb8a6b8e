/**
 * PostgreSQL from the machine's packages (`/usr/lib/postgresql/<newest>/bin`), on a throwaway
 * `initdb` data directory in the temp dir. Nothing to build: `prepare` only finds the binaries.
 * Log: `<temp>/soundgood-pg-<port>/postgres.log`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Component, log, type Running } from './component.ts';

export interface PostgresOptions {
  port: number;
  /**
   * false: no fsync (`fsync=off`, `synchronous_commit=off`), for test runs on a throwaway data directory:
   * durable writes wait on the disk, which CI shares with the control plane's Go build (every CREATE and
   * DROP DATABASE ends in a checkpoint). The benchmark and `npm start` stay durable.
   */
  durable?: boolean;
}

function binDir(): string {
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
function run(command: string, args: string[]): void {
  const [program, ...rest] =
    process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', command, ...args] : [command, ...args];
  const result = spawnSync(program as string, rest, { stdio: ['ignore', 'ignore', 'inherit'] });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed with code ${result.status}`);
}

const pidFile = (dataDir: string) => join(dataDir, 'postmaster.pid');

export const postgres: Component<PostgresOptions> = {
  name: 'postgres',
  get version() {
    return binDir().split('/').at(-2) as string;
  },

  async prepare() {
    binDir();
  },

  async start({ port, durable = true }) {
    const bin = binDir();
    // In the temp dir: the postgres user must reach it, whoever owns the checkout.
    const dir = join(tmpdir(), `soundgood-pg-${port}`);
    const dataDir = join(dir, 'data');
    if (existsSync(pidFile(dataDir))) run(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'fast', 'stop']);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    if (process.getuid?.() === 0) execFileSync('chown', ['postgres', dir]);
    run(join(bin, 'initdb'), ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
    log(`starting PostgreSQL ${this.version} on 127.0.0.1:${port}`);
    const logFile = join(dir, 'postgres.log');
    const settings = [`-p ${port}`, `-k ${dir}`, '-c listen_addresses=127.0.0.1', '-c max_connections=300'];
    if (!durable) settings.push('-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off');
    // pg_ctl -w returns once the server accepts connections.
    run(join(bin, 'pg_ctl'), ['-D', dataDir, '-l', logFile, '-w', '-o', settings.join(' '), 'start']);
    const pid = Number(readFileSync(pidFile(dataDir), 'utf8').split('\n')[0]);
    return {
      pids: [pid],
      env: { DATABASE_URL: `postgresql://postgres@127.0.0.1:${port}/postgres` },
      logs: [logFile],
      dataDir,
    } satisfies Running;
  },

  alive: (running) => running.dataDir !== undefined && existsSync(pidFile(running.dataDir)),

  async stop(running) {
    if (!running.dataDir || !existsSync(pidFile(running.dataDir))) return;
    log('stopping PostgreSQL');
    // pg_ctl's fast shutdown is PostgreSQL's SIGINT to the postmaster, waited for.
    run(join(binDir(), 'pg_ctl'), ['-D', running.dataDir, '-m', 'fast', '-w', 'stop']);
  },
};
