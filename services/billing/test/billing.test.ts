import { randomUUID } from 'node:crypto';
import { events } from '@soundgood/event-catalog';
import { createEvent } from '@soundgood/eventing';
import { startTestService, type TestService } from '@soundgood/eventing/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BillingModule } from '../src/billing.module.js';
import { configSchema } from '../src/config.js';
import { Database } from '../src/database.js';

let billing: TestService<Database>;

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

async function newAccount(paymentMethod = 'pm_card_visa'): Promise<string> {
  const studentId = randomUUID();
  await billing.db.paymentAccount.create({ data: { studentId, paymentMethod } });
  return studentId;
}

const charge = (studentId: string, rentalId = randomUUID(), amountCents = 2500, month = 1) =>
  createEvent(
    events.chargePayment,
    { rentalId, studentId, month, amountCents, currency: 'EUR', description: `month ${month} of a rental` },
    { partitionKey: rentalId },
  );
const refund = (studentId: string, rentalId: string) =>
  createEvent(events.refundPayment, { rentalId, studentId }, { partitionKey: rentalId });

const chargesOf = (rentalId: string) => billing.db.charge.findMany({ where: { rentalId } });
const refundOf = (rentalId: string) => billing.db.refund.findUnique({ where: { rentalId } });

describe('charge payment', () => {
  test('charges the fee and answers paymentCharged with the charge', async () => {
    const studentId = await newAccount();
    const command = charge(studentId, randomUUID(), 4900);
    const rentalId = command.partitionkey as string;

    const { status, reply } = await billing.send(command);

    expect(status).toBe(200);
    expect(reply?.type).toBe(events.paymentCharged.type);
    expect(reply?.source).toBe('/soundgood/billing');
    expect(reply?.partitionkey).toBe(rentalId);
    const [stored] = await chargesOf(rentalId);
    expect(reply?.data).toEqual({
      rentalId,
      studentId,
      month: 1,
      chargeId: stored?.id,
      amountCents: 4900,
      currency: 'EUR',
    });
    expect(stored).toMatchObject({
      studentId,
      month: 1,
      amountCents: 4900,
      currency: 'EUR',
      status: 'CHARGED',
      refundedAt: null,
    });
    expect(stored?.providerReference).toMatch(/^sim_/);
  });

  test('declines a card the provider declines with CARD_DECLINED and records no charge', async () => {
    const studentId = await newAccount('pm_card_declined');
    const command = charge(studentId);

    const { reply } = await billing.send(command);

    expect(reply?.type).toBe(events.paymentDeclined.type);
    expect(reply?.data).toMatchObject({ studentId, reason: 'CARD_DECLINED' });
    expect(await chargesOf(command.partitionkey as string)).toEqual([]);
  });

  test('declines a student without a payment account with NO_PAYMENT_ACCOUNT', async () => {
    const command = charge(randomUUID());

    const { reply } = await billing.send(command);

    expect(reply?.type).toBe(events.paymentDeclined.type);
    expect(reply?.data).toMatchObject({ reason: 'NO_PAYMENT_ACCOUNT' });
    expect(await chargesOf(command.partitionkey as string)).toEqual([]);
  });

  test('answers a redelivered event with the same reply and charges once', async () => {
    const studentId = await newAccount();
    const command = charge(studentId);

    const first = await billing.send(command);
    const again = await billing.send(command);

    expect(again.status).toBe(200);
    expect(again.reply?.id).toBe(first.reply?.id);
    expect(await chargesOf(command.partitionkey as string)).toHaveLength(1);
  });

  test('answers the same command with a new event id by the first charge again', async () => {
    const studentId = await newAccount();
    const rentalId = randomUUID();

    const first = await billing.send(charge(studentId, rentalId));
    const repeated = await billing.send(charge(studentId, rentalId));

    expect(repeated.reply?.id).not.toBe(first.reply?.id);
    expect(repeated.reply?.type).toBe(events.paymentCharged.type);
    expect(repeated.reply?.data).toEqual(first.reply?.data);
    expect(await chargesOf(rentalId)).toHaveLength(1);
  });

  test('charges each month of a rental once, however often each month is asked for', async () => {
    const studentId = await newAccount();
    const rentalId = randomUUID();

    const replies = [];
    for (const month of [1, 2, 2, 3, 1, 3])
      replies.push((await billing.send(charge(studentId, rentalId, 2500, month))).reply);

    expect(replies.map((r) => r?.type)).toEqual(Array(6).fill(events.paymentCharged.type));
    expect(replies.map((r) => (r?.data as { month: number } | undefined)?.month)).toEqual([1, 2, 2, 3, 1, 3]);
    expect(replies[2]?.data).toEqual(replies[1]?.data);
    const stored = await chargesOf(rentalId);
    expect(stored.map((c) => c.month).sort()).toEqual([1, 2, 3]);
    // The database refuses a second charge of one month, whatever the code above it does.
    await expect(
      billing.db.charge.create({
        data: {
          rentalId,
          month: 2,
          studentId,
          amountCents: 1,
          currency: 'EUR',
          status: 'CHARGED',
          providerReference: 'x',
        },
      }),
    ).rejects.toThrow(/Unique constraint/);
  });

  test('declines a month while the card is declined, records nothing, and charges it once the card works', async () => {
    const studentId = await newAccount();
    const rentalId = randomUUID();
    await billing.send(charge(studentId, rentalId, 2500, 1));
    await billing.db.paymentAccount.update({
      where: { studentId },
      data: { paymentMethod: 'pm_card_declined' },
    });

    const declined = await billing.send(charge(studentId, rentalId, 2500, 2));
    expect(declined.reply?.type).toBe(events.paymentDeclined.type);
    expect(declined.reply?.data).toMatchObject({ rentalId, month: 2, reason: 'CARD_DECLINED' });
    expect((await chargesOf(rentalId)).map((c) => c.month)).toEqual([1]);

    await billing.db.paymentAccount.update({ where: { studentId }, data: { paymentMethod: 'pm_card_visa' } });
    const retried = await billing.send(charge(studentId, rentalId, 2500, 2));
    expect(retried.reply?.type).toBe(events.paymentCharged.type);
    expect((await chargesOf(rentalId)).map((c) => c.month).sort()).toEqual([1, 2]);
  });

  test('refuses a charge that arrives after its rental was refunded with RENTAL_CANCELLED, leaving nothing charged', async () => {
    const studentId = await newAccount();
    const rentalId = randomUUID();

    const refunded = await billing.send(refund(studentId, rentalId));
    expect(refunded.reply?.data).toMatchObject({ amountCents: 0, currency: 'EUR' });
    const { reply } = await billing.send(charge(studentId, rentalId));

    expect(reply?.type).toBe(events.paymentDeclined.type);
    expect(reply?.data).toMatchObject({ rentalId, reason: 'RENTAL_CANCELLED' });
    expect(await chargesOf(rentalId)).toEqual([]);
  });

  test('leaves no charge standing whichever of a rental’s charge and refund runs first', async () => {
    const studentId = await newAccount();
    const rentalIds = Array.from({ length: 5 }, () => randomUUID());

    await Promise.all(
      rentalIds.map(async (rentalId) => {
        const results = await Promise.all([
          billing.send(charge(studentId, rentalId)),
          billing.send(refund(studentId, rentalId)),
        ]);
        expect(results.map((result) => result.status)).toEqual([200, 200]);
      }),
    );

    for (const rentalId of rentalIds) {
      const charged = (await chargesOf(rentalId)).filter((c) => c.status === 'CHARGED');
      expect(charged).toEqual([]);
      const refunded = await refundOf(rentalId);
      const [stored] = await chargesOf(rentalId);
      expect(refunded?.amountCents).toBe(stored ? stored.amountCents : 0);
    }
  });
});

describe('refund payment', () => {
  test('refunds a charge and answers paymentRefunded with its amount', async () => {
    const studentId = await newAccount();
    const rentalId = randomUUID();
    await billing.send(charge(studentId, rentalId, 3900));

    const { status, reply } = await billing.send(refund(studentId, rentalId));

    expect(status).toBe(200);
    expect(reply?.type).toBe(events.paymentRefunded.type);
    expect(reply?.partitionkey).toBe(rentalId);
    expect(reply?.data).toEqual({ rentalId, studentId, amountCents: 3900, currency: 'EUR' });
    const [stored] = await chargesOf(rentalId);
    expect(stored?.status).toBe('REFUNDED');
    expect(stored?.refundedAt).toBeInstanceOf(Date);
    expect(await refundOf(rentalId)).toMatchObject({ studentId, amountCents: 3900, currency: 'EUR' });
  });

  test('refunds nothing when nothing was charged and answers paymentRefunded with amount 0', async () => {
    const studentId = await newAccount();
    const rentalId = randomUUID();

    const { reply } = await billing.send(refund(studentId, rentalId));

    expect(reply?.type).toBe(events.paymentRefunded.type);
    expect(reply?.data).toEqual({ rentalId, studentId, amountCents: 0, currency: 'EUR' });
    expect(await refundOf(rentalId)).toMatchObject({ amountCents: 0 });
  });

  test('is idempotent: a second refund answers the same amount and changes nothing', async () => {
    const studentId = await newAccount();
    const rentalId = randomUUID();
    await billing.send(charge(studentId, rentalId, 3900));
    await billing.send(refund(studentId, rentalId));
    const before = { charges: await chargesOf(rentalId), refund: await refundOf(rentalId) };

    const { reply } = await billing.send(refund(studentId, rentalId));

    expect(reply?.data).toEqual({ rentalId, studentId, amountCents: 3900, currency: 'EUR' });
    expect({ charges: await chargesOf(rentalId), refund: await refundOf(rentalId) }).toEqual(before);
  });
});

describe('HTTP API', () => {
  test('creates a payment account (201), then changes its payment method (200)', async () => {
    const studentId = randomUUID();

    const created = await billing.http('PUT', `/accounts/${studentId}`, { paymentMethod: 'pm_card_visa' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ studentId, paymentMethod: 'pm_card_visa' });

    const changed = await billing.http('PUT', `/accounts/${studentId}`, {
      paymentMethod: 'pm_card_declined',
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ studentId, paymentMethod: 'pm_card_declined' });
    expect(await billing.db.paymentAccount.findUnique({ where: { studentId } })).toMatchObject({
      paymentMethod: 'pm_card_declined',
    });
  });

  test('shows an account with its charges and refunds', async () => {
    const studentId = await newAccount();
    const kept = randomUUID();
    const cancelled = randomUUID();
    await billing.send(charge(studentId, kept, 2500));
    await billing.send(charge(studentId, cancelled, 3900));
    await billing.send(refund(studentId, cancelled));

    const { status, body } = await billing.http<{
      paymentMethod: string;
      charges: { rentalId: string; status: string }[];
      refunds: { rentalId: string; amountCents: number }[];
    }>('GET', `/accounts/${studentId}`);

    expect(status).toBe(200);
    expect(body.paymentMethod).toBe('pm_card_visa');
    expect(body.charges).toHaveLength(2);
    expect(body.charges).toContainEqual(expect.objectContaining({ rentalId: kept, status: 'CHARGED' }));
    expect(body.charges).toContainEqual(expect.objectContaining({ rentalId: cancelled, status: 'REFUNDED' }));
    expect(body.refunds).toEqual([expect.objectContaining({ rentalId: cancelled, amountCents: 3900 })]);
  });

  test('lists the charges of a rental', async () => {
    const studentId = await newAccount();
    const rentalId = randomUUID();
    await billing.send(charge(studentId, rentalId));
    await billing.send(charge(studentId));

    const { status, body } = await billing.http<{ rentalId: string }[]>(
      'GET',
      `/charges?rentalId=${rentalId}`,
    );

    expect(status).toBe(200);
    expect(body.map((c) => c.rentalId)).toEqual([rentalId]);
    const all = await billing.http<unknown[]>('GET', '/charges');
    expect(all.body.length).toBeGreaterThanOrEqual(2);
  });

  test('lists the charges and refunds of a period, oldest first, a page at a time', async () => {
    // A period of its own, far from the other tests' rows: the boundaries are the caller's instants.
    const from = '2031-03-01T00:00:00+01:00';
    const to = '2031-04-01T00:00:00+02:00';
    const studentId = await newAccount();
    const at = async (rentalId: ReturnType<typeof randomUUID>, createdAt: string, refunded = false) => {
      await billing.send(charge(studentId, rentalId, 1000));
      await billing.db.charge.updateMany({ where: { rentalId }, data: { createdAt: new Date(createdAt) } });
      if (!refunded) return;
      await billing.send(refund(studentId, rentalId));
      await billing.db.refund.update({ where: { rentalId }, data: { createdAt: new Date(createdAt) } });
    };
    const [before, first, second, third, after] = [
      randomUUID(),
      randomUUID(),
      randomUUID(),
      randomUUID(),
      randomUUID(),
    ];
    await at(before, '2031-02-28T22:59:59.999Z', true); // 23:59:59.999 in Stockholm, February
    await at(first, '2031-02-28T23:00:00.000Z', true); // midnight in Stockholm: March
    await at(second, '2031-03-15T12:00:00.000Z');
    await at(third, '2031-03-31T21:59:59.999Z', true); // still March in Stockholm (summer time)
    await at(after, '2031-03-31T22:00:00.000Z');

    const page = (path: string, params: string) =>
      billing.http<{ rentalId: string }[]>(
        'GET',
        `${path}?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&${params}`,
      );
    const firstPage = await page('/charges', 'limit=2');
    const secondPage = await page('/charges', 'limit=2&offset=2');
    expect(firstPage.status).toBe(200);
    expect([...firstPage.body, ...secondPage.body].map((c) => c.rentalId)).toEqual([first, second, third]);
    expect((await page('/refunds', 'limit=10')).body.map((r) => r.rentalId)).toEqual([first, third]);
    const ofRental = await billing.http<{ rentalId: string }[]>('GET', `/refunds?rentalId=${third}`);
    expect(ofRental.body.map((r) => r.rentalId)).toEqual([third]);
  });

  test('answers 400 naming a wrong period or page', async () => {
    const notInstant = await billing.http('GET', '/charges?from=2031-03-01');
    expect(notInstant.status).toBe(400);
    expect(notInstant.body.errors).toEqual([{ field: 'from', message: expect.any(String) }]);
    const backwards = await billing.http('GET', '/refunds?from=2031-04-01T00:00:00Z&to=2031-03-01T00:00:00Z');
    expect(backwards.status).toBe(400);
    expect(backwards.body.errors).toEqual([{ field: 'to', message: 'to must be after from' }]);
    const page = await billing.http('GET', '/charges?limit=501');
    expect(page.status).toBe(400);
    expect(page.body.errors).toEqual([{ field: 'limit', message: expect.any(String) }]);
  });

  test('answers 400 naming a wrong payment method, student id or rental id', async () => {
    const method = await billing.http('PUT', `/accounts/${randomUUID()}`, { paymentMethod: 'visa' });
    expect(method.status).toBe(400);
    expect(method.body.errors).toEqual([{ field: 'paymentMethod', message: expect.stringContaining('pm_') }]);

    const student = await billing.http('PUT', '/accounts/someone', { paymentMethod: 'pm_card_visa' });
    expect(student.status).toBe(400);
    expect(student.body.errors).toEqual([{ field: 'studentId', message: expect.any(String) }]);

    const rental = await billing.http('GET', '/charges?rentalId=7');
    expect(rental.status).toBe(400);
    expect(rental.body.errors).toEqual([{ field: 'rentalId', message: expect.any(String) }]);
  });

  test('answers 404 for a student without a payment account', async () => {
    expect((await billing.http('GET', `/accounts/${randomUUID()}`)).status).toBe(404);
  });
});
