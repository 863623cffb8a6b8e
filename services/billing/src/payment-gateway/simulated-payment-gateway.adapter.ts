import { setTimeout as sleep } from 'node:timers/promises';
import {
  type ChargeRequest,
  type ChargeResult,
  PaymentGateway,
  type RefundRequest,
} from './payment-gateway.port.js';

/** The payment method this provider always declines. */
export const DECLINED_PAYMENT_METHOD = 'pm_card_declined';

export interface SimulatedPaymentGatewayOptions {
  /** Delay of every call. */
  latencyMs: number;
  /** Every Nth call throws a transient error; 0 = never. */
  failureEvery: number;
}

/**
 * The default payment provider: deterministic and without external calls, so that the saga's
 * failure paths can be shown on demand. Declines `pm_card_declined`, approves any other `pm_*`.
 */
export class SimulatedPaymentGateway extends PaymentGateway {
  private calls = 0;

  constructor(private readonly options: SimulatedPaymentGatewayOptions) {
    super();
  }

  async charge({ paymentMethod, idempotencyKey }: ChargeRequest): Promise<ChargeResult> {
    await this.call('charge');
    if (paymentMethod === DECLINED_PAYMENT_METHOD) return { status: 'declined', reason: 'CARD_DECLINED' };
    if (!paymentMethod.startsWith('pm_')) return { status: 'declined', reason: 'INVALID_PAYMENT_METHOD' };
    return { status: 'approved', reference: `sim_ch_${idempotencyKey}` };
  }

  async refund(_request: RefundRequest): Promise<void> {
    await this.call('refund');
  }

  private async call(operation: string): Promise<void> {
    this.calls += 1;
    if (this.options.latencyMs > 0) await sleep(this.options.latencyMs);
    const { failureEvery } = this.options;
    if (failureEvery > 0 && this.calls % failureEvery === 0) {
      throw new Error(
        `simulated payment provider unavailable (${operation}, call ${this.calls}, failing every ${failureEvery})`,
      );
    }
  }
}
