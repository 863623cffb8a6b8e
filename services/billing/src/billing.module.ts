import { Module } from '@nestjs/common';
import { CONFIG, validationPipe } from '@soundgood/eventing';
import { ChargePaymentEventController } from './charge-payment/charge-payment.event.controller.js';
import { ChargePaymentService } from './charge-payment/charge-payment.service.js';
import type { Config } from './config.js';
import { FindPaymentsHttpController } from './find-payments/find-payments.http.controller.js';
import { FindPaymentsService } from './find-payments/find-payments.service.js';
import { PaymentGateway } from './payment-gateway/payment-gateway.port.js';
import { SimulatedPaymentGateway } from './payment-gateway/simulated-payment-gateway.adapter.js';
import { RefundPaymentEventController } from './refund-payment/refund-payment.event.controller.js';
import { RefundPaymentService } from './refund-payment/refund-payment.service.js';
import { SetPaymentAccountHttpController } from './set-payment-account/set-payment-account.http.controller.js';
import { SetPaymentAccountService } from './set-payment-account/set-payment-account.service.js';

/** Payment accounts (HTTP), and charges and refunds (the payment commands of the rent-instrument saga). */
@Module({
  controllers: [
    SetPaymentAccountHttpController,
    FindPaymentsHttpController,
    ChargePaymentEventController,
    RefundPaymentEventController,
  ],
  providers: [
    validationPipe,
    {
      provide: PaymentGateway,
      inject: [CONFIG],
      useFactory: (config: Config) =>
        new SimulatedPaymentGateway({
          latencyMs: config.PAYMENT_LATENCY_MS,
          failureEvery: config.PAYMENT_FAILURE_EVERY,
        }),
    },
    SetPaymentAccountService,
    FindPaymentsService,
    ChargePaymentService,
    RefundPaymentService,
  ],
})
export class BillingModule {}
