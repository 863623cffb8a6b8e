import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import pg from 'pg';

/** The `prisma/` folder: one subfolder per service, holding its schema and migrations. */
const packageRoot = new URL('../', import.meta.url);

// The same key `prisma migrate deploy` locks, so this applier and Prisma never run at once.
const prismaAdvisoryLock = 72707369;

// Byte for byte the table `prisma migrate deploy` creates, so either tool can continue the other's history.
const createMigrationsTable = `CREATE TABLE _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
);
`;

interface Migration {
  name: string;
  script: string;
}

interface MigrationRecord {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
}

/** Services that own a schema under `prisma/`, in name order. */
export async function listServices(): Promise<string[]> {
  const entries = await readdir(packageRoot, { withFileTypes: true });
  const services: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const files = await readdir(new URL(`${entry.name}/`, packageRoot));
    if (files.includes('schema.prisma') && files.includes('migrations')) services.push(entry.name);
  }
  return services.sort();
}

/** The URL of `database` on the server that `serverUrl` points to. */
export function serviceDatabaseUrl(
  serverUrl: string,
  service: string,
  database = `soundgood_${service}`,
): string {
  const url = new URL(serverUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

/** Creates `database` unless it exists already. */
export async function createDatabase(serverUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const existing = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (existing.rowCount) return;
    await client.query(`CREATE DATABASE ${quoteIdentifier(database)}`);
  } catch (error) {
    // Another process created it between the check and the CREATE.
    if ((error as { code?: string }).code !== '42P04') throw error;
  } finally {
    await client.end();
  }
}

/** Sha256 hex of the script, as Prisma records it in `_prisma_migrations.checksum`. */
export function migrationChecksum(script: string): string {
  return createHash('sha256').update(script).digest('hex');
}

// Prisma accepts a script whose line endings git converted since it was applied.
function scriptMatchesChecksum(script: string, checksum: string): boolean {
  const variants = [script, script.replaceAll('\r\n', '\n'), script.replaceAll('\n', '\r\n')];
  return variants.some((variant) => migrationChecksum(variant) === checksum);
}

/** The folder holding the service's migrations in Prisma's layout. */
export function migrationsFolder(service: string): URL {
  return new URL(`${service}/migrations/`, packageRoot);
}

/** The migrations in `folder` in the order Prisma applies them (by folder name). */
export async function readMigrations(folder: URL): Promise<Migration[]> {
  const base = folder.href.endsWith('/') ? folder : new URL(`${folder.href}/`);
  const lock = await readFile(new URL('migration_lock.toml', base), 'utf8');
  if (!/^provider\s*=\s*"postgresql"\s*$/m.test(lock)) {
    throw new Error(`${base.pathname}migration_lock.toml does not declare provider = "postgresql"`);
  }
  const entries = await readdir(base, { withFileTypes: true });
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  return Promise.all(
    names.map(async (name) => ({
      name,
      script: await readFile(new URL(`${name}/migration.sql`, base), 'utf8'),
    })),
  );
}

/**
 * Applies the migrations in `folder` (default `prisma/<service>/migrations`) that the database
 * lacks, each in its own transaction, and returns their names. Refuses to continue when an applied
 * migration was edited since or Prisma recorded a failed one (`prisma migrate resolve` clears it).
 */
export async function applyMigrations(
  databaseUrl: string,
  service: string,
  folder = migrationsFolder(service),
): Promise<string[]> {
  const migrations = await readMigrations(folder);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [prismaAdvisoryLock]);
    await ensureMigrationsTable(client);
    const { rows } = await client.query<MigrationRecord>(
      'SELECT migration_name, checksum, finished_at FROM _prisma_migrations WHERE rolled_back_at IS NULL',
    );

    const failed = rows.filter((row) => row.finished_at === null).map((row) => row.migration_name);
    if (failed.length > 0) {
      throw new Error(
        `${service}: migration ${failed.join(', ')} failed earlier; resolve it before migrating`,
      );
    }
    const applied = new Map(rows.map((row) => [row.migration_name, row.checksum]));
    for (const migration of migrations) {
      const checksum = applied.get(migration.name);
      if (checksum !== undefined && !scriptMatchesChecksum(migration.script, checksum)) {
        throw new Error(`${service}: migration ${migration.name} was modified after it was applied`);
      }
    }

    const newlyApplied: string[] = [];
    for (const migration of migrations) {
      if (applied.has(migration.name)) continue;
      await applyOne(client, service, migration);
      newlyApplied.push(migration.name);
    }
    return newlyApplied;
  } finally {
    await client.end();
  }
}

async function ensureMigrationsTable(client: pg.Client): Promise<void> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'r' AND n.nspname = current_schema()`,
  );
  if (rows.some((row) => row.name === '_prisma_migrations')) return;
  // Same rule as Prisma: a schema with tables but no migration history needs a baseline first.
  if (rows.length > 0) {
    throw new Error(
      `database schema is not empty but has no _prisma_migrations table (tables: ${rows.map((r) => r.name).join(', ')})`,
    );
  }
  await client.query(createMigrationsTable);
}

async function applyOne(client: pg.Client, service: string, migration: Migration): Promise<void> {
  try {
    await client.query('BEGIN');
    const id = randomUUID();
    await client.query(
      'INSERT INTO _prisma_migrations (id, checksum, started_at, migration_name) VALUES ($1, $2, clock_timestamp(), $3)',
      [id, migrationChecksum(migration.script), migration.name],
    );
    // No parameters: the simple query protocol runs a multi-statement script.
    await client.query(migration.script);
    await client.query(
      `UPDATE _prisma_migrations SET applied_steps_count = applied_steps_count + 1, finished_at = clock_timestamp()
       WHERE id = $1`,
      [id],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw new Error(`${service}: migration ${migration.name} failed: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** Creates the service's database if needed, applies its migrations, and returns the database URL. */
export async function prepareServiceDatabase(
  serverUrl: string,
  service: string,
  database = `soundgood_${service}`,
): Promise<string> {
  await createDatabase(serverUrl, database);
  const databaseUrl = serviceDatabaseUrl(serverUrl, service, database);
  await applyMigrations(databaseUrl, service);
  return databaseUrl;
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
