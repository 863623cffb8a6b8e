// Who may call the billing API (docs/security.md): staff sets payment accounts and lists charges
// and refunds; a student reads only her own account; every bad token is refused with 401.
import { randomUUID } from 'node:crypto';
import { authProblems, startTestService, type TestService } from '@soundgood/eventing/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BillingModule } from '../src/billing.module.js';
import { configSchema } from '../src/config.js';
import { Database } from '../src/database.js';

let billing: TestService<Database>;
const ada = randomUUID();
const bea = randomUUID();

beforeAll(async () => {
  billing = await startTestService({
    service: 'billing',
    configSchema,
    database: Database,
    module: BillingModule,
  });
});

afterAll(async () => {
  await billing?.stop();
});

const routes: [string, string, (() => unknown)?][] = [
  ['PUT', `/accounts/${ada}`, () => ({ paymentMethod: 'pm_card_visa' })],
  ['GET', `/accounts/${ada}`],
  ['GET', '/charges'],
  ['GET', '/refunds'],
];

describe('billing API access', () => {
  test.each(routes)(
    '%s %s refuses no token, an expired, early, foreign-audience, foreign-issuer, alg-none, unknown-key or malformed one with 401',
    async (method, path, body) => {
      const problems = await authProblems(billing.issuer, (token) =>
        billing.http(method, path, body?.(), { as: token }),
      );
      expect(problems).toEqual([]);
    },
  );

  test('staff sets accounts and reads any account, the charges and the refunds', async () => {
    for (const id of [ada, bea]) {
      expect([200, 201]).toContain(
        (await billing.http('PUT', `/accounts/${id}`, { paymentMethod: 'pm_card_visa' })).status,
      );
    }
    expect((await billing.http('GET', `/accounts/${bea}`)).status).toBe(200);
    expect((await billing.http('GET', '/charges')).status).toBe(200);
    expect((await billing.http('GET', '/refunds')).status).toBe(200);
  });

  test("a student reads her own account, not another's, and neither sets accounts nor lists all charges (403)", async () => {
    await billing.http('PUT', `/accounts/${ada}`, { paymentMethod: 'pm_card_visa' });
    await billing.http('PUT', `/accounts/${bea}`, { paymentMethod: 'pm_card_visa' });
    const token = await billing.issuer.student(ada);
    expect((await billing.http('GET', `/accounts/${ada}`, undefined, { as: token })).status).toBe(200);
    const other = await billing.http('GET', `/accounts/${bea}`, undefined, { as: token });
    expect(other.status).toBe(403);
    expect(other.body.message).toMatch(/only act for herself/);
    const own = await billing.http(
      'PUT',
      `/accounts/${ada}`,
      { paymentMethod: 'pm_card_declined' },
      { as: token },
    );
    expect(own.status).toBe(403);
    expect((await billing.http('GET', '/charges', undefined, { as: token })).status).toBe(403);
    expect((await billing.http('GET', '/refunds', undefined, { as: token })).status).toBe(403);
  });
});
