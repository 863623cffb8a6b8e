import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { PrismaClient } from '../test/fixture/generated/client.js';
import { isDatabaseUnavailable, isUniqueViolation } from './prisma.js';
import { freePort } from './testing.js';

const failure = (promise: PromiseLike<unknown>) =>
  Promise.resolve(promise).then(
    () => expect.fail('expected the query to fail'),
    (error: unknown) => error,
  );

// The errors as the driver and Prisma really raise them when the server is not there.
describe('isDatabaseUnavailable', () => {
  it("recognises Prisma's error for a server it cannot reach", async () => {
    const url = `postgresql://postgres@127.0.0.1:${await freePort()}/nothing`;
    const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: url }) });
    try {
      const error = await failure(prisma.$queryRawUnsafe('SELECT 1'));
      expect(isDatabaseUnavailable(error), String(error)).toBe(true);
      expect(isUniqueViolation(error)).toBe(false);
    } finally {
      await prisma.$disconnect();
    }
  });

  it("recognises the pg driver's refused connection", async () => {
    const client = new pg.Client({
      connectionString: `postgresql://postgres@127.0.0.1:${await freePort()}/x`,
    });
    expect(isDatabaseUnavailable(await failure(client.connect()))).toBe(true);
  });

  it('recognises PostgreSQL shutting down (SQLSTATE 57P01), also as the cause of another error', () => {
    const shutdown = Object.assign(new Error('terminating connection due to administrator command'), {
      code: '57P01',
    });
    expect(isDatabaseUnavailable(shutdown)).toBe(true);
    expect(
      isDatabaseUnavailable(new Error('query failed', { cause: { kind: 'postgres', code: '57P01' } })),
    ).toBe(true);
  });

  it("is false for the request's own faults and for anything else", () => {
    expect(
      isDatabaseUnavailable(Object.assign(new Error('Unique constraint failed'), { code: 'P2002' })),
    ).toBe(false);
    expect(isDatabaseUnavailable(Object.assign(new Error('invalid input syntax'), { code: '22P02' }))).toBe(
      false,
    );
    expect(isDatabaseUnavailable(new Error('boom'))).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
  });
});
