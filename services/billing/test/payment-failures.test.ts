import { randomUUID } from 'node:crypto';
import { events } from '@soundgood/event-catalog';
import { createEvent } from '@soundgood/eventing';
import { startTestService, type TestService } from '@soundgood/eventing/testing';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { BillingModule } from '../src/billing.module.js';
import { configSchema } from '../src/config.js';
import { Database } from '../src/database.js';

// Every second call to the simulated payment provider fails.
let billing: TestService<Database>;

beforeAll(async () => {
  billing = await startTestService({
    service: 'billing',
    configSchema,
    database: Database,
    module: BillingModule,
    env: { PAYMENT_FAILURE_EVERY: '2' },
  });
});

afterAll(async () => {
  await billing?.stop();
});

test('a provider failure answers 500 with nothing written, and the redelivered event then succeeds', async () => {
  const studentId = randomUUID();
  await billing.db.paymentAccount.create({ data: { studentId, paymentMethod: 'pm_card_visa' } });
  const charge = (rentalId: string) =>
    createEvent(
      events.chargePayment,
      { rentalId, studentId, month: 1, amountCents: 2500, currency: 'EUR', description: 'first month' },
      { partitionKey: rentalId },
    );
  const first = charge(randomUUID());
  const second = charge(randomUUID());
  const secondRental = second.partitionkey as string;

  expect((await billing.send(first)).reply?.type).toBe(events.paymentCharged.type); // call 1
  const failed = await billing.send(second); // call 2 fails
  expect(failed.status).toBe(500);
  expect(failed.error).toContain('unavailable');
  expect(await billing.db.charge.count({ where: { rentalId: secondRental } })).toBe(0);

  const retried = await billing.send(second); // call 3
  expect(retried.status).toBe(200);
  expect(retried.reply?.type).toBe(events.paymentCharged.type);
  expect(await billing.db.charge.count({ where: { rentalId: secondRental } })).toBe(1);

  const refund = createEvent(
    events.refundPayment,
    { rentalId: secondRental, studentId },
    { partitionKey: secondRental },
  );
  expect((await billing.send(refund)).status).toBe(500); // call 4 fails
  expect(await billing.db.charge.findFirst({ where: { rentalId: secondRental } })).toMatchObject({
    status: 'CHARGED',
  });
  expect(await billing.db.refund.count({ where: { rentalId: secondRental } })).toBe(0);

  const refunded = await billing.send(refund); // call 5
  expect(refunded.reply?.data).toMatchObject({ amountCents: 2500 });
  expect(await billing.db.charge.findFirst({ where: { rentalId: secondRental } })).toMatchObject({
    status: 'REFUNDED',
  });
});
