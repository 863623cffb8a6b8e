/**
 * What a service's transaction gets when PostgreSQL ends its connection (as a fast or immediate
 * shutdown does, here pg_terminate_backend), against the real server: an error that
 * isDatabaseUnavailable recognises, so that an HTTP request answers 503 (bootstrap.ts) rather than
 * 500; and the next query, on a new connection, works. A chaos run saw that 500 (2026-12-02): the pg
 * driver says only "Client has encountered a connection error and is not queryable", with no code.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../src/prisma.js';
import { Database, fixtureDatabase } from './fixture/fixture.js';

let database: Awaited<ReturnType<typeof fixtureDatabase>>;
let prisma: Database;
let admin: pg.Client;

beforeAll(async () => {
  database = await fixtureDatabase();
  prisma = new Database({ DATABASE_URL: database.url } as never);
  admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
});

afterAll(async () => {
  await admin?.end();
  await prisma?.$disconnect();
  await database?.drop();
});

/** A transaction whose connection the server ends after its first query; what it throws. */
async function cutOff(then: 'query' | 'commit'): Promise<unknown> {
  return prisma
    .$transaction(async (tx) => {
      const [row] = await tx.$queryRawUnsafe<{ pid: number }[]>('SELECT pg_backend_pid() AS pid');
      await admin.query('SELECT pg_terminate_backend($1)', [row?.pid]);
      // The client learns of it when the socket closes.
      await new Promise((done) => setTimeout(done, 200));
      if (then === 'query') await tx.$queryRawUnsafe('SELECT 1');
    })
    .then(
      () => expect.fail('expected the transaction to fail'),
      (error: unknown) => error,
    );
}

describe('a transaction whose connection PostgreSQL ends', () => {
  it.each(['query', 'commit'] as const)('fails as database unavailable at its next %s', async (then) => {
    const error = await cutOff(then);
    expect(isDatabaseUnavailable(error), String(error)).toBe(true);
    expect(await prisma.$queryRawUnsafe('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });
});
