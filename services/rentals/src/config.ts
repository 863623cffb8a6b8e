import { defineConfig, positiveInt } from '@soundgood/eventing';
import type { z } from 'zod';
import { ianaTimeZone } from './school-calendar.js';

export const configSchema = defineConfig({
  /** How long a saga step may wait for its reply before it counts as failed. */
  SAGA_STEP_TIMEOUT_MS: positiveInt(10_000),
  /** How often a compensation is sent before the saga is marked FAILED for an operator. */
  SAGA_COMPENSATION_MAX_ATTEMPTS: positiveInt(5),
  /** How often overdue steps are looked for. */
  SAGA_SWEEP_INTERVAL_MS: positiveInt(500),
  /** The school's time zone: "today", and so the day a rental starts, is the date there. */
  SCHOOL_TIME_ZONE: ianaTimeZone('Europe/Stockholm'),
  /** School days a declined month is retried (daily) before its rental ends with PAYMENT_OVERDUE. */
  PAYMENT_GRACE_DAYS: positiveInt(7),
});
export type Config = z.infer<typeof configSchema>;
