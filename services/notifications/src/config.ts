import { defineConfig } from '@soundgood/eventing';
import type { z } from 'zod';

/** The shared service variables (PORT, DATABASE_URL, EVENT_TRANSPORT, ...); notifications adds none. */
export const configSchema = defineConfig({});
export type Config = z.infer<typeof configSchema>;
