import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, test } from 'vitest';
import { applyMigrations, migrationsFolder, prepareServiceDatabase, readMigrations } from '../src/migrate.js';
import { dropDatabase, freshDatabase, query, serverUrl } from './database.js';

const eventing = '20261125000000_eventing';
const databases: string[] = [];
const folders: string[] = [];
afterAll(async () => {
  await Promise.all(databases.map(dropDatabase));
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

async function database(label: string): Promise<string> {
  const created = await freshDatabase(label);
  databases.push(created.name);
  return created.url;
}

/** A scratch copy of the rentals migrations that a test may edit. */
async function copyOfRentalsMigrations(): Promise<{ folder: URL; path: string }> {
  const path = await mkdtemp(join(tmpdir(), 'soundgood-migrations-'));
  folders.push(path);
  await cp(migrationsFolder('rentals'), path, { recursive: true });
  return { folder: pathToFileURL(`${path}/`), path };
}

interface MigrationRow {
  id: string;
  checksum: string;
  migration_name: string;
  started_at: Date;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  logs: string | null;
  applied_steps_count: number;
}

describe('applyMigrations', () => {
  test('applies every migration once, and nothing when run again', async () => {
    const url = await database('twice');
    const names = (await readMigrations(migrationsFolder('rentals'))).map((m) => m.name);
    expect(names).toContain(eventing);

    expect(await applyMigrations(url, 'rentals')).toEqual(names);
    expect(await applyMigrations(url, 'rentals')).toEqual([]);
  });

  test('two concurrent runs on one database apply each migration exactly once', async () => {
    const url = await database('concurrent');
    const names = (await readMigrations(migrationsFolder('rentals'))).map((m) => m.name);
    const runs = await Promise.all([applyMigrations(url, 'rentals'), applyMigrations(url, 'rentals')]);
    expect(runs.flat().sort()).toEqual(names);
  });

  test("keeps Prisma's _prisma_migrations table: same columns, one finished row per migration with its sha256", async () => {
    const url = await database('bookkeeping');
    await applyMigrations(url, 'rentals');

    const columns = await query<{
      column_name: string;
      type: string;
      is_nullable: string;
      column_default: string;
    }>(
      url,
      `SELECT column_name, format_type(a.atttypid, a.atttypmod) AS type, is_nullable, column_default
       FROM information_schema.columns c
       JOIN pg_attribute a ON a.attrelid = '_prisma_migrations'::regclass AND a.attname = c.column_name
       WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
    );
    expect(columns.map((c) => [c.column_name, c.type, c.is_nullable, c.column_default])).toEqual([
      ['id', 'character varying(36)', 'NO', null],
      ['checksum', 'character varying(64)', 'NO', null],
      ['finished_at', 'timestamp with time zone', 'YES', null],
      ['migration_name', 'character varying(255)', 'NO', null],
      ['logs', 'text', 'YES', null],
      ['rolled_back_at', 'timestamp with time zone', 'YES', null],
      ['started_at', 'timestamp with time zone', 'NO', 'now()'],
      ['applied_steps_count', 'integer', 'NO', '0'],
    ]);

    const all = await query<MigrationRow>(url, 'SELECT * FROM _prisma_migrations ORDER BY migration_name');
    const script = await readFile(new URL(`${eventing}/migration.sql`, migrationsFolder('rentals')));
    expect(all).toHaveLength((await readMigrations(migrationsFolder('rentals'))).length);
    const rows = all.filter((row) => row.migration_name === eventing);
    expect(rows[0]).toMatchObject({
      migration_name: eventing,
      checksum: createHash('sha256').update(script).digest('hex'),
      rolled_back_at: null,
      logs: null,
      applied_steps_count: 1,
    });
    expect(rows[0]?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(rows[0]?.finished_at?.getTime()).toBeGreaterThanOrEqual(rows[0]?.started_at.getTime() ?? Infinity);
  });

  test('refuses a migration that was modified after it was applied, naming it', async () => {
    const url = await database('modified');
    const { folder, path } = await copyOfRentalsMigrations();
    await applyMigrations(url, 'rentals', folder);

    const file = join(path, eventing, 'migration.sql');
    await writeFile(file, `${await readFile(file, 'utf8')}\nALTER TABLE "inbox" ADD COLUMN "extra" TEXT;\n`);
    await expect(applyMigrations(url, 'rentals', folder)).rejects.toThrow(
      `rentals: migration ${eventing} was modified after it was applied`,
    );
  });

  test('accepts an applied migration whose line endings git converted to CRLF', async () => {
    const url = await database('crlf');
    const { folder, path } = await copyOfRentalsMigrations();
    await applyMigrations(url, 'rentals', folder);

    const file = join(path, eventing, 'migration.sql');
    await writeFile(file, (await readFile(file, 'utf8')).replaceAll('\n', '\r\n'));
    expect(await applyMigrations(url, 'rentals', folder)).toEqual([]);
  });

  test('refuses to go on after a migration Prisma recorded as failed, naming it', async () => {
    const url = await database('failed');
    await applyMigrations(url, 'rentals');
    await query(
      url,
      `UPDATE _prisma_migrations SET finished_at = NULL, logs = 'boom' WHERE migration_name = '${eventing}'`,
    );

    await expect(applyMigrations(url, 'rentals')).rejects.toThrow(
      `rentals: migration ${eventing} failed earlier`,
    );
  });

  test('rolls a failing migration back completely and names it', async () => {
    const url = await database('broken');
    const { folder, path } = await copyOfRentalsMigrations();
    const broken = '20261126000000_broken';
    await cp(join(path, eventing), join(path, broken), { recursive: true });
    await writeFile(
      join(path, broken, 'migration.sql'),
      'CREATE TABLE "half_done" ("id" INTEGER);\nALTER TABLE "no_such_table" ADD COLUMN "x" TEXT;\n',
    );

    await expect(applyMigrations(url, 'rentals', folder)).rejects.toThrow(
      `rentals: migration ${broken} failed`,
    );
    const tables = await query<{ name: string }>(url, "SELECT to_regclass('half_done')::text AS name");
    expect(tables).toEqual([{ name: null }]);
    const recorded = await query<{ migration_name: string }>(
      url,
      'SELECT migration_name FROM _prisma_migrations',
    );
    expect(recorded.map((row) => row.migration_name)).not.toContain(broken);
    expect(recorded.map((row) => row.migration_name)).toContain(eventing);
  });

  test('refuses a non-empty database that has no migration history, like prisma migrate deploy', async () => {
    const url = await database('unbaselined');
    await query(url, 'CREATE TABLE "existing" ("id" INTEGER)');

    await expect(applyMigrations(url, 'rentals')).rejects.toThrow(/not empty.*existing/);
  });
});

describe('prepareServiceDatabase', () => {
  test('creates the database on first use and is a no-op afterwards', async () => {
    const name = `test_prepare_${process.pid}`;
    databases.push(name);
    const url = await prepareServiceDatabase(serverUrl, 'students', name);
    expect(new URL(url).pathname).toBe(`/${name}`);
    expect(await prepareServiceDatabase(serverUrl, 'students', name)).toBe(url);

    const rows = await query<{ count: string }>(url, 'SELECT count(*) FROM _prisma_migrations');
    expect(rows).toEqual([{ count: String((await readMigrations(migrationsFolder('students'))).length) }]);
  });
});

describe('the eventing migration', () => {
  test('notifies channel "outbox" when events are inserted into the outbox', async () => {
    const url = await database('notify');
    await applyMigrations(url, 'rentals');

    const listener = new pg.Client({ connectionString: url });
    await listener.connect();
    try {
      await listener.query('LISTEN outbox');
      const notified = new Promise<pg.Notification>((resolve) => listener.once('notification', resolve));
      await query(
        url,
        `INSERT INTO outbox (event_id, type, event) VALUES ('e-1', 'test.v1', '{}'), ('e-2', 'test.v1', '{}')`,
      );
      const timeout = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('no notification on channel outbox within 5 s')), 5000),
      );
      expect(await Promise.race([notified, timeout])).toMatchObject({ channel: 'outbox', payload: '' });
    } finally {
      await listener.end();
    }
  });
});
