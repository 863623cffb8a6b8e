import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createDatabase, serviceDatabaseUrl } from '../src/migrate.js';

const url = process.env.DATABASE_URL;
if (!url) {
  throw new Error(
    'DATABASE_URL is not set: these tests need a PostgreSQL server (the root `npm test` starts one; ' +
      'locally run `eval "$(node scripts/infra.ts env)"`)',
  );
}
/** Server-level URL of the PostgreSQL the tests run against. */
export const serverUrl: string = url;

/** An empty database with a fresh name; drop it with `dropDatabase`. */
export async function freshDatabase(label: string): Promise<{ name: string; url: string }> {
  const name = `test_${label}_${randomUUID().slice(0, 8)}`;
  await createDatabase(serverUrl, name);
  return { name, url: serviceDatabaseUrl(serverUrl, label, name) };
}

/**
 * A connected client. A server-side end of its connection (a database dropped WITH (FORCE) while a timed-out
 * test still holds it) fails its next query instead of surfacing as an uncaught 'error' event.
 */
export async function connect(databaseUrl: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: databaseUrl });
  client.on('error', () => {});
  await client.connect();
  return client;
}

export async function dropDatabase(name: string): Promise<void> {
  const client = await connect(serverUrl);
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

export async function query<T extends pg.QueryResultRow>(databaseUrl: string, sql: string): Promise<T[]> {
  const client = await connect(databaseUrl);
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}
