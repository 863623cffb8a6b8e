import { describe, expect, test } from 'vitest';
import { SimulatedPaymentGateway } from './simulated-payment-gateway.adapter.js';

const charge = (paymentMethod: string, idempotencyKey = 'rental-1') => ({
  amountCents: 2500,
  currency: 'EUR',
  paymentMethod,
  idempotencyKey,
});

describe('SimulatedPaymentGateway', () => {
  test('always declines pm_card_declined with CARD_DECLINED', async () => {
    const gateway = new SimulatedPaymentGateway({ latencyMs: 0, failureEvery: 0 });
    expect(await gateway.charge(charge('pm_card_declined'))).toEqual({
      status: 'declined',
      reason: 'CARD_DECLINED',
    });
  });

  test('approves any other pm_ method with a reference derived from the idempotency key', async () => {
    const gateway = new SimulatedPaymentGateway({ latencyMs: 0, failureEvery: 0 });
    const first = await gateway.charge(charge('pm_card_visa', 'rental-7'));
    expect(first).toEqual({ status: 'approved', reference: expect.stringContaining('rental-7') });
    expect(await gateway.charge(charge('pm_card_mastercard', 'rental-7'))).toEqual(first);
  });

  test('declines a payment method that is not a pm_ id', async () => {
    const gateway = new SimulatedPaymentGateway({ latencyMs: 0, failureEvery: 0 });
    expect(await gateway.charge(charge('visa'))).toMatchObject({ status: 'declined' });
  });

  test('fails every Nth call, charges and refunds alike, and answers the others', async () => {
    const gateway = new SimulatedPaymentGateway({ latencyMs: 0, failureEvery: 3 });
    await expect(gateway.charge(charge('pm_card_visa'))).resolves.toMatchObject({ status: 'approved' });
    await expect(
      gateway.refund({ reference: 'sim_ch_rental-1', amountCents: 2500 }),
    ).resolves.toBeUndefined();
    await expect(gateway.charge(charge('pm_card_visa'))).rejects.toThrow(/unavailable/);
    await expect(gateway.charge(charge('pm_card_visa'))).resolves.toMatchObject({ status: 'approved' });
    await expect(gateway.charge(charge('pm_card_visa'))).resolves.toMatchObject({ status: 'approved' });
    await expect(gateway.refund({ reference: 'sim_ch_rental-1', amountCents: 2500 })).rejects.toThrow(
      /unavailable/,
    );
  });

  test('takes at least the configured latency for every call', async () => {
    const gateway = new SimulatedPaymentGateway({ latencyMs: 60, failureEvery: 0 });
    const started = performance.now();
    await gateway.charge(charge('pm_card_visa'));
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
  });
});
