// Who may call the inventory API (docs/security.md): staff adds instruments; any student or staff
// member browses them; every bad token is refused with 401.
import { randomUUID } from 'node:crypto';
import { authProblems, startTestService, type TestService } from '@soundgood/eventing/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { configSchema } from '../src/config.js';
import { Database } from '../src/database.js';
import { InventoryModule } from '../src/inventory.module.js';

let inventory: TestService<Database>;

beforeAll(async () => {
  inventory = await startTestService({
    service: 'inventory',
    configSchema,
    database: Database,
    module: InventoryModule,
  });
});

afterAll(async () => {
  await inventory?.stop();
});

const guitar = () => ({
  id: randomUUID(),
  type: 'guitar',
  brand: 'Yamaha',
  monthlyFeeCents: 2500,
  currency: 'EUR',
});
const routes: [string, string, (() => unknown)?][] = [
  ['POST', '/instruments', guitar],
  ['GET', '/instruments'],
  ['GET', `/instruments/${randomUUID()}`],
];

describe('inventory API access', () => {
  test.each(routes)(
    '%s %s refuses no token, an expired, early, foreign-audience, foreign-issuer, alg-none, unknown-key or malformed one with 401',
    async (method, path, body) => {
      const problems = await authProblems(inventory.issuer, (token) =>
        inventory.http(method, path, body?.(), { as: token }),
      );
      expect(problems).toEqual([]);
    },
  );

  test('staff adds an instrument; a student may not (403) but browses the list and each instrument', async () => {
    const instrument = guitar();
    expect((await inventory.http('POST', '/instruments', instrument)).status).toBe(201);

    const student = await inventory.issuer.student(randomUUID());
    const refused = await inventory.http('POST', '/instruments', guitar(), { as: student });
    expect(refused.status).toBe(403);
    expect(refused.body.message).toMatch(/requires the role staff/);
    expect((await inventory.http('GET', '/instruments', undefined, { as: student })).status).toBe(200);
    expect(
      (await inventory.http('GET', `/instruments/${instrument.id}`, undefined, { as: student })).status,
    ).toBe(200);
  });
});
