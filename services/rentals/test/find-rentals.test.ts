/**
 * Rentals by period: which started, ended or were active in a month of the school's calendar
 * (Europe/Stockholm), rows written straight to the database.
 */
import { randomUUID } from 'node:crypto';
import { startTestService, type TestService } from '@soundgood/eventing/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../src/config.js';
import { Database } from '../src/database.js';
import { RentalsModule } from '../src/rentals.module.js';

let rentals: TestService<Database>;

beforeAll(async () => {
  rentals = await startTestService({
    service: 'rentals',
    configSchema,
    database: Database,
    module: RentalsModule,
  });
});

afterAll(async () => {
  await rentals?.stop();
});

// A period of its own (March 2032), away from other tests' rows.
const march = 'from=2032-03-01&to=2032-04-01';
const day = (date: string) => new Date(`${date}T00:00:00Z`);

async function rental(
  name: string,
  startsOn: string | null,
  endsOn: string | null,
  terminatedAt?: string,
): Promise<[string, string]> {
  const id = randomUUID();
  await rentals.db.rental.create({
    data: {
      id,
      studentId: randomUUID(),
      instrumentId: randomUUID(),
      months: 1,
      status: terminatedAt ? 'TERMINATED' : startsOn ? 'CONFIRMED' : 'REJECTED',
      monthlyFeeCents: 2500,
      currency: 'EUR',
      startsOn: startsOn ? day(startsOn) : null,
      endsOn: endsOn ? day(endsOn) : null,
      ...(terminatedAt ? { terminatedAt: new Date(terminatedAt) } : {}),
    },
  });
  return [id, name];
}

const names = async (query: string, known: Map<string, string>) => {
  const response = await rentals.http<{ id: string }[]>('GET', `/rentals?${query}`);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body.map((r) => known.get(r.id)).filter((name) => name !== undefined);
};

describe('find rentals', () => {
  it('lists the rentals that started, ended or were active in a month of the school calendar', async () => {
    const known = new Map([
      await rental('february, ends on March 1', '2032-02-01', '2032-03-01'),
      await rental('february to mid-march', '2032-02-15', '2032-03-15'),
      await rental('starts March 1', '2032-03-01', '2032-06-01'),
      // 23:30 UTC on March 31 is April 1 in Stockholm (summer time from March 28).
      await rental('terminated April 1, Stockholm', '2032-03-10', '2032-09-10', '2032-03-31T22:30:00Z'),
      await rental('terminated March 31, Stockholm', '2032-03-20', '2032-09-20', '2032-03-31T21:30:00Z'),
      await rental('starts April 1', '2032-04-01', '2032-05-01'),
      await rental('never confirmed', null, null),
    ]);

    expect(await names(`in=started&${march}`, known)).toEqual([
      'starts March 1',
      'terminated April 1, Stockholm',
      'terminated March 31, Stockholm',
    ]);
    expect(await names(`in=ended&${march}`, known)).toEqual([
      'february, ends on March 1',
      'february to mid-march',
      'terminated March 31, Stockholm',
    ]);
    expect(await names(`in=active&${march}`, known)).toEqual([
      'february to mid-march',
      'starts March 1',
      'terminated April 1, Stockholm',
      'terminated March 31, Stockholm',
    ]);
    const [terminated] = (
      await rentals.http<{ endedOn: string; status: string }[]>('GET', `/rentals?in=ended&${march}&offset=2`)
    ).body;
    expect(terminated).toMatchObject({ status: 'TERMINATED', endedOn: '2032-03-31', inArrears: false });
  });

  it('says which active rentals are in arrears: a declined month not charged since', async () => {
    const [paying] = await rental('paying', '2034-01-10', '2034-04-10');
    const [late] = await rental('late', '2034-01-11', '2034-04-11');
    const month = (
      rentalId: string,
      n: number,
      status: 'CHARGED' | 'DECLINED' | 'DUE',
      reason: string | null,
    ) =>
      rentals.db.rentalMonth.create({
        data: { rentalId, month: n, dueOn: day('2034-02-10'), sentOn: day('2034-02-10'), status, reason },
      });
    await month(paying, 1, 'CHARGED', null);
    await month(paying, 2, 'CHARGED', 'CARD_DECLINED'); // declined once, charged on a retry
    await month(late, 1, 'CHARGED', null);
    await month(late, 2, 'DUE', 'CARD_DECLINED'); // retried today, not answered yet
    const listed = await rentals.http<{ id: string; inArrears: boolean }[]>(
      'GET',
      '/rentals?in=active&from=2034-02-01&to=2034-03-01',
    );
    const arrears = Object.fromEntries(listed.body.map((r) => [r.id, r.inArrears]));
    expect(arrears).toEqual({ [paying]: false, [late]: true });
  });

  it('pages with limit and offset', async () => {
    const known = new Map([
      await rental('a', '2033-01-02', '2033-02-02'),
      await rental('b', '2033-01-03', '2033-02-03'),
      await rental('c', '2033-01-04', '2033-02-04'),
    ]);
    const period = 'in=started&from=2033-01-01&to=2033-02-01';
    expect(await names(`${period}&limit=2`, known)).toEqual(['a', 'b']);
    expect(await names(`${period}&limit=2&offset=2`, known)).toEqual(['c']);
  });

  it('answers 400 naming a missing period, a wrong date or a backwards period', async () => {
    const missing = await rentals.http('GET', '/rentals?from=2032-03-01&to=2032-04-01');
    expect(missing.status).toBe(400);
    expect(missing.body.errors).toEqual([{ field: 'in', message: expect.any(String) }]);
    const wrong = await rentals.http('GET', '/rentals?in=active&from=2032-03-32&to=2032-04-01');
    expect(wrong.status).toBe(400);
    expect(wrong.body.errors).toEqual([{ field: 'from', message: expect.any(String) }]);
    const backwards = await rentals.http('GET', '/rentals?in=active&from=2032-04-01&to=2032-03-01');
    expect(backwards.status).toBe(400);
    expect(backwards.body.errors).toEqual([{ field: 'to', message: 'to must be after from' }]);
  });
});
