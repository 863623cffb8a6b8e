// Who may call the rentals API (docs/security.md): a student rents for herself, reads and ends her
// own rentals; staff does so for anyone and inspects sagas and reports; POST /rentals is limited per
// caller; every bad token is refused with 401.
import { randomUUID } from 'node:crypto';
import { authProblems, startTestService, type TestService } from '@soundgood/eventing/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { configSchema } from '../src/config.js';
import { Database } from '../src/database.js';
import { RentalsModule } from '../src/rentals.module.js';

let rentals: TestService<Database>;
const ada = randomUUID();
const bea = randomUUID();

beforeAll(async () => {
  rentals = await startTestService({
    service: 'rentals',
    configSchema,
    database: Database,
    module: RentalsModule,
    env: { RATE_LIMIT: '3', RATE_LIMIT_WINDOW: '1m' },
  });
});

afterAll(async () => {
  await rentals?.stop();
});

const rental = (studentId: string) => ({ studentId, instrumentId: randomUUID(), months: 1 });
const rent = async (studentId: string, as?: string) => {
  const response = await rentals.http<{ id: string }>('POST', '/rentals', rental(studentId), { as });
  expect(response.status, JSON.stringify(response.body)).toBe(202);
  return response.body.id;
};

describe('rentals API access', () => {
  const id = randomUUID();
  test.each([
    ['POST', '/rentals', () => rental(ada)],
    ['GET', `/rentals/${id}`],
    ['POST', `/rentals/${id}/terminate`],
    ['GET', '/sagas'],
    ['GET', '/rentals?in=active&from=2026-11-01&to=2026-12-01'],
    ['GET', '/school-days'],
  ] as [string, string, (() => unknown)?][])(
    '%s %s refuses no token, an expired, early, foreign-audience, foreign-issuer, alg-none, unknown-key or malformed one with 401',
    async (method, path, body) => {
      const problems = await authProblems(rentals.issuer, (token) =>
        rentals.http(method, path, body?.(), { as: token }),
      );
      expect(problems).toEqual([]);
    },
  );

  test('a student rents for herself, not for another student (403)', async () => {
    const token = await rentals.issuer.student(ada);
    await rent(ada, token);
    const refused = await rentals.http('POST', '/rentals', rental(bea), { as: token });
    expect(refused.status).toBe(403);
    expect(refused.body.message).toMatch(/only act for herself: studentId/);
  });

  test("a student reads her own rental and not another's; ends only her own (403 before anything changes)", async () => {
    const adaToken = await rentals.issuer.student(ada);
    const beaToken = await rentals.issuer.student(bea);
    const beasRental = await rent(bea, beaToken);

    expect((await rentals.http('GET', `/rentals/${beasRental}`, undefined, { as: beaToken })).status).toBe(
      200,
    );
    const read = await rentals.http('GET', `/rentals/${beasRental}`, undefined, { as: adaToken });
    expect(read.status).toBe(403);
    expect(read.body.message).toMatch(/own rentals/);

    const ended = await rentals.http('POST', `/rentals/${beasRental}/terminate`, undefined, { as: adaToken });
    expect(ended.status).toBe(403);
    // Her own: past the guard, to the rule that only a CONFIRMED rental ends.
    const own = await rentals.http('POST', `/rentals/${beasRental}/terminate`, undefined, { as: beaToken });
    expect(own.status).toBe(409);
    expect((await rentals.db.rental.findUniqueOrThrow({ where: { id: beasRental } })).status).toBe('PENDING');
  });

  test('staff rents for a student, reads and ends any rental, inspects sagas, reports and school days; a student may not (403)', async () => {
    const staffsRental = await rent(bea);
    expect((await rentals.http('GET', `/rentals/${staffsRental}`)).status).toBe(200);
    expect((await rentals.http('POST', `/rentals/${staffsRental}/terminate`)).status).toBe(409);
    expect((await rentals.http('GET', '/sagas')).status).toBe(200);
    expect((await rentals.http('GET', '/rentals?in=active&from=2026-11-01&to=2026-12-01')).status).toBe(200);

    const token = await rentals.issuer.student(ada);
    const sagas = await rentals.http('GET', '/sagas', undefined, { as: token });
    expect(sagas.status).toBe(403);
    expect(sagas.body.message).toMatch(/requires the role staff/);
    const report = await rentals.http('GET', '/rentals?in=active&from=2026-11-01&to=2026-12-01', undefined, {
      as: token,
    });
    expect(report.status).toBe(403);
    expect((await rentals.http('GET', '/school-days')).status).toBe(200);
    expect((await rentals.http('GET', '/school-days', undefined, { as: token })).status).toBe(403);
  });

  test('the OpenAPI document needs no token, and declares the bearer scheme and the 401/403 answers', async () => {
    const document = await rentals.http<{
      security: unknown[];
      components: { securitySchemes: Record<string, { scheme: string }> };
      paths: Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown[] }>>;
    }>('GET', '/openapi.json', undefined, { as: null });
    expect(document.status).toBe(200);
    expect(document.body.components.securitySchemes.bearer?.scheme).toBe('bearer');
    expect(document.body.security).toEqual([{ bearer: [] }]);
    expect(Object.keys(document.body.paths['/sagas']?.get?.responses ?? {})).toEqual(
      expect.arrayContaining(['401', '403']),
    );
    expect(document.body.paths['/rentals']?.post?.responses).toHaveProperty('429');
    expect(document.body.paths['/healthz']?.get?.security).toEqual([]);
  });
});

describe('rate limit of POST /rentals', () => {
  test('answers 429 with Retry-After past RATE_LIMIT requests of one caller; other callers are not affected', async () => {
    const carl = randomUUID();
    const token = await rentals.issuer.student(carl);
    for (let i = 0; i < 3; i++) await rent(carl, token);
    const limited = await rentals.http('POST', '/rentals', rental(carl), { as: token });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.body.message).toMatch(/at most 3 requests per 60 s/);
    expect(await rentals.db.rental.count({ where: { studentId: carl } })).toBe(3);

    const dora = randomUUID();
    await rent(dora, await rentals.issuer.student(dora));
  });
});
