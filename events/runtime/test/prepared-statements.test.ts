import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statementNames } from '../src/prisma.js';
import { Database, fixtureDatabase } from './fixture/fixture.js';

let database: Awaited<ReturnType<typeof fixtureDatabase>>;
let prisma: Database;

beforeAll(async () => {
  database = await fixtureDatabase();
  prisma = new Database({ DATABASE_URL: database.url } as never);
});

afterAll(async () => {
  await prisma?.$disconnect();
  await database?.drop();
});

describe('prepared statements (databaseFor)', () => {
  it('prepares each statement once per connection and then only executes it', async () => {
    const [first, second] = await prisma.$transaction(async (tx) => {
      // One transaction is one connection: the same statement twice, then what the server prepared.
      await tx.effect.findMany({ where: { times: 1 } });
      await tx.effect.findMany({ where: { times: 2 } });
      const prepared = () =>
        tx.$queryRaw<{ statement: string; plans: bigint }[]>`
          SELECT "statement", "generic_plans" + "custom_plans" AS "plans" FROM pg_prepared_statements
          WHERE "name" LIKE 'soundgood\\_%' AND "statement" LIKE '%"effects"%'
            AND "statement" NOT LIKE '%pg_prepared_statements%'`; // not this query itself
      const before = await prepared();
      await tx.effect.findMany({ where: { times: 3 } });
      return [before, await prepared()];
    });
    expect(first).toHaveLength(1); // prepared once for three runs, not once per run
    expect(second).toHaveLength(1);
    expect(Number(second?.[0]?.plans)).toBe(Number(first?.[0]?.plans) + 1);
  });

  it('keeps the same name for the same text, and runs texts past the limit unnamed', () => {
    const names = statementNames(2);
    const a = names({ sql: 'SELECT 1' });
    expect(a).toMatch(/^soundgood_\d+$/);
    expect(names({ sql: 'SELECT 1' })).toBe(a);
    expect(names({ sql: 'SELECT 2' })).not.toBe(a);
    expect(names({ sql: 'SELECT 3' })).toBeUndefined();
    expect(names({ sql: 'SELECT 1' })).toBe(a);
  });
});
