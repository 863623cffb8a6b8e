import { defineConfig } from '@soundgood/eventing';
import { z } from 'zod';

const nonNegativeInt = (fallback: number) => z.coerce.number().int().nonnegative().default(fallback);

/** The shared service variables (PORT, DATABASE_URL, EVENT_TRANSPORT, ...) and the simulated provider's. */
export const configSchema = defineConfig({
  /** Delay of every call to the simulated payment provider. */
  PAYMENT_LATENCY_MS: nonNegativeInt(0),
  /** Every Nth call to the simulated payment provider fails with a transient error; 0 = never. */
  PAYMENT_FAILURE_EVERY: nonNegativeInt(0),
});
export type Config = z.infer<typeof configSchema>;
