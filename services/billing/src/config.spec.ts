import { ConfigError, loadConfig } from '@soundgood/eventing';
import { describe, expect, test } from 'vitest';
import { configSchema } from './config.js';

const base = {
  DATABASE_URL: 'postgresql://localhost/soundgood_billing',
  EVENT_TRANSPORT: 'kafka',
  KAFKA_BROKERS: 'localhost:9092',
};

describe('billing configuration', () => {
  test('simulates an instant provider that never fails by default', () => {
    expect(loadConfig(configSchema, base)).toMatchObject({ PAYMENT_LATENCY_MS: 0, PAYMENT_FAILURE_EVERY: 0 });
  });

  test('reads the simulated provider’s latency and failure rate', () => {
    const config = loadConfig(configSchema, {
      ...base,
      PAYMENT_LATENCY_MS: '250',
      PAYMENT_FAILURE_EVERY: '3',
    });
    expect(config).toMatchObject({ PAYMENT_LATENCY_MS: 250, PAYMENT_FAILURE_EVERY: 3 });
  });

  test('names each invalid provider variable', () => {
    const load = () =>
      loadConfig(configSchema, { ...base, PAYMENT_LATENCY_MS: 'slow', PAYMENT_FAILURE_EVERY: '-1' });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/PAYMENT_LATENCY_MS[\s\S]*PAYMENT_FAILURE_EVERY/);
  });
});
