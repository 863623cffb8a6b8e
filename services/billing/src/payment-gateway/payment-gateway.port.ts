export interface ChargeRequest {
  amountCents: number;
  currency: string;
  paymentMethod: string;
  /** The same key never charges twice at the provider (billing uses the rental id). */
  idempotencyKey: string;
}

export type ChargeResult = { status: 'approved'; reference: string } | { status: 'declined'; reason: string };

export interface RefundRequest {
  /** The provider's reference of the charge to give back. */
  reference: string;
  amountCents: number;
}

/**
 * The payment provider as billing needs it. A refusal is a result (`declined`); a thrown error
 * means the provider could not answer, and the event is retried.
 */
export abstract class PaymentGateway {
  abstract charge(request: ChargeRequest): Promise<ChargeResult>;
  abstract refund(request: RefundRequest): Promise<void>;
}
