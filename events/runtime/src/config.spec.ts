import { describe, expect, it } from 'vitest';
import { baseConfigSchema, ConfigError, loadConfig } from './config.js';

const required = {
  DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/soundgood_students',
  EVENT_TRANSPORT: 'kafka',
  KAFKA_BROKERS: '127.0.0.1:9092',
};
const load = (env: Record<string, string>) => loadConfig(baseConfigSchema, { ...required, ...env });

describe('retention configuration', () => {
  it('defaults to a day of published outbox rows and 14 days of inbox rows, swept every minute in 500s', () => {
    const config = load({});
    expect(config.OUTBOX_RETENTION).toBe(24 * 3_600_000);
    expect(config.INBOX_RETENTION).toBe(14 * 86_400_000);
    expect(config.RETENTION_INTERVAL).toBe(60_000);
    expect(config.RETENTION_BATCH_SIZE).toBe(500);
  });

  it('reads durations in ms, s, m, h and d', () => {
    const config = load({
      OUTBOX_RETENTION: '250ms',
      INBOX_RETENTION: '21d',
      RETENTION_INTERVAL: '30s',
      RETENTION_BATCH_SIZE: '50',
    });
    expect(config.OUTBOX_RETENTION).toBe(250);
    expect(config.INBOX_RETENTION).toBe(21 * 86_400_000);
    expect(config.RETENTION_INTERVAL).toBe(30_000);
    expect(config.RETENTION_BATCH_SIZE).toBe(50);
    expect(load({ OUTBOX_RETENTION: '90m' }).OUTBOX_RETENTION).toBe(5_400_000);
    expect(load({ OUTBOX_RETENTION: '36h' }).OUTBOX_RETENTION).toBe(129_600_000);
  });

  it.each([
    ['INBOX_RETENTION', '14'],
    ['INBOX_RETENTION', '0d'],
    ['INBOX_RETENTION', '-1d'],
    ['INBOX_RETENTION', '2w'],
    ['OUTBOX_RETENTION', 'P1D'],
    ['OUTBOX_RETENTION', '1.5h'],
    ['OUTBOX_RETENTION', ''],
    ['RETENTION_INTERVAL', '2d'],
    ['RETENTION_BATCH_SIZE', '0'],
  ])('refuses %s=%j, naming the variable', (name, value) => {
    expect(() => load({ [name]: value })).toThrow(ConfigError);
    expect(() => load({ [name]: value })).toThrow(new RegExp(`^invalid configuration:\\n  ${name}: `));
  });

  it('names every bad retention variable at once', () => {
    expect(() => load({ OUTBOX_RETENTION: 'soon', INBOX_RETENTION: 'forever' })).toThrow(
      /OUTBOX_RETENTION: expected a positive duration .*got "soon"\n {2}INBOX_RETENTION: expected a positive duration .*got "forever"/,
    );
  });
});
