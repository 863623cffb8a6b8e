/**
 * The monthly report against the real Soundgood: the five services on PostgreSQL and Kafka behind
 * the Knative broker data plane (services/rentals/test/e2e/soundgood.ts), the function served by the
 * OpenFaaS template's own index.js (dist/index.js, as the watchdog's upstream in the image).
 *
 * Rentals and charges are made through the services' APIs (the real saga), then moved into
 * November 2026 in the services' databases (the services date them today); one refund is written
 * straight to billing's database (no API refunds a confirmed rental). November is reported in
 * Europe/Stockholm, whose midnight is 23:00 UTC: rows just either side of it fall on the right side.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, waitFor } from '@soundgood/eventing/testing';
import type { KafkaMessage } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startSoundgood } from '../../../services/rentals/test/e2e/soundgood.js';

const reportType = 'dev.soundgood.reports.report.published.v1';
let soundgood: Stack;
let fn: ChildProcess | undefined;
let functionUrl: string;
const published: KafkaMessage[] = [];
let stopConsumer: (() => Promise<void>) | undefined;
/** Spawn to the first answer of the template's server, in ms: the function's cold start here. */
let coldStartMs: number;

async function startFunction(env: Record<string, string>): Promise<void> {
  const port = await freePort();
  functionUrl = `http://127.0.0.1:${port}`;
  const started = performance.now();
  fn = spawn(process.execPath, [resolve(import.meta.dirname, '../dist/index.js')], {
    env: { ...process.env, ...env, http_port: String(port) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await waitFor(
    () =>
      fetch(`${functionUrl}/?month=bad`).then(
        (r) => r.status === 400 || undefined,
        () => undefined,
      ),
    'the function to listen',
    30_000,
  );
  coldStartMs = performance.now() - started;
}

const call = async (method: string, path: string, headers: Record<string, string> = {}) => {
  const response = await fetch(`${functionUrl}${path}`, { method, headers });
  return { status: response.status, headers: response.headers, text: await response.text() };
};

beforeAll(async () => {
  soundgood = await startSoundgood();
  const sink = soundgood.services.rentals.env.K_SINK;
  if (!sink) throw new Error('the stack runs without a broker: the report needs its ingress (K_SINK)');
  // The staff token as OpenFaaS mounts a secret: one file (/var/openfaas/secrets/<name> in the pod).
  const secrets = mkdtempSync(join(tmpdir(), 'openfaas-secrets-'));
  const token = join(secrets, 'soundgood-staff-token');
  writeFileSync(token, `${(soundgood.staffHeaders.authorization ?? '').replace(/^Bearer /, '')}\n`);
  await startFunction({
    STAFF_TOKEN_FILE: token,
    RENTALS_URL: soundgood.services.rentals.url,
    BILLING_URL: soundgood.services.billing.url,
    INVENTORY_URL: soundgood.services.inventory.url,
    K_SINK: sink,
    SCHOOL_TIME_ZONE: 'Europe/Stockholm',
    PAGE_SIZE: '2', // several pages of everything
  });
  // Whatever reaches the broker's topic with the report's type: the data plane received it.
  const consumer = soundgood.kafka.consumer({ groupId: `monthly-report-test-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic: soundgood.topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (message.headers?.ce_type?.toString() === reportType) published.push(message);
    },
  });
  stopConsumer = () => consumer.disconnect();
});

afterAll(async () => {
  fn?.kill('SIGTERM');
  await stopConsumer?.();
  await soundgood?.close();
});

async function instrument(type: string, monthlyFeeCents: number): Promise<string> {
  const id = randomUUID();
  const body = { id, type, brand: 'Soundgood', monthlyFeeCents, currency: 'EUR' };
  expect((await soundgood.call('inventory', 'POST', '/instruments', body)).status).toBe(201);
  return id;
}

async function confirmed(studentId: string, instrumentId: string, months: number): Promise<string> {
  const id = await soundgood.rent(studentId, instrumentId, months);
  // Until the saga has decided (its row may not be there yet when the first poll comes).
  const decided = await waitFor(
    async () => {
      const rental = await soundgood.rental(id);
      return rental.status === 'PENDING' ? undefined : rental;
    },
    `rental ${id} to be decided`,
    60_000,
  );
  expect(decided.status, `rental ${id}: ${JSON.stringify(decided)}`).toBe('CONFIRMED');
  return id;
}

/** The rental's dates, and its charge's time, as if it had been made then. */
async function backdate(rentalId: string, startsOn: string, endsOn: string, chargedAt: string) {
  await soundgood.query(
    'rentals',
    'UPDATE rentals SET starts_on = $2, ends_on = $3 WHERE id = $1',
    rentalId,
    startsOn,
    endsOn,
  );
  const charged = await soundgood.query(
    'billing',
    'UPDATE charges SET created_at = $2 WHERE rental_id = $1 RETURNING id',
    rentalId,
    chargedAt,
  );
  expect(charged).toHaveLength(1);
}

describe('monthly report', () => {
  it('reports November across its boundaries, as JSON and HTML, and publishes it to the broker once per POST', async () => {
    const [guitar1, guitar2, guitar3] = [
      await instrument('guitar', 2500),
      await instrument('guitar', 2500),
      await instrument('guitar', 2500),
    ];
    const piano = await instrument('piano', 4000);
    const [ada, ben, cleo] = [
      await soundgood.student(),
      await soundgood.student(),
      await soundgood.student(),
    ];

    // October 15 to January 15; charged at 00:30 on November 1 in Stockholm: November's revenue.
    const a = await confirmed(ada, guitar1 as string, 3);
    await backdate(a, '2026-10-15', '2027-01-15', '2026-10-31T23:30:00Z');
    // November 10 to December 10.
    const b = await confirmed(ben, guitar2 as string, 1);
    await backdate(b, '2026-11-10', '2026-12-10', '2026-11-10T10:00:00Z');
    // Piano from November 1, terminated on November 20, 2000 refunded that day.
    const c = await confirmed(cleo, piano, 2);
    expect((await soundgood.call('rentals', 'POST', `/rentals/${c}/terminate`)).status).toBe(200);
    await backdate(c, '2026-11-01', '2027-01-01', '2026-11-01T08:00:00Z');
    await soundgood.query(
      'rentals',
      `UPDATE rentals SET terminated_at = '2026-11-20T12:00:00Z' WHERE id = $1`,
      c,
    );
    await soundgood.query(
      'billing',
      `INSERT INTO refunds (rental_id, student_id, amount_cents, currency, created_at) VALUES ($1, $2, 2000, 'EUR', '2026-11-20T12:00:00Z')`,
      c,
      cleo,
    );
    // December 1 in Stockholm (23:30 UTC on November 30): not November's.
    const e = await confirmed(ada, guitar3 as string, 1);
    await backdate(e, '2026-12-01', '2027-01-01', '2026-11-30T23:30:00Z');

    const read = await call('GET', '/?month=2026-11');
    expect(read.status, read.text).toBe(200);
    expect(read.headers.get('content-type')).toMatch(/^application\/json/);
    expect(read.headers.get('ce-id'), 'GET does not publish').toBeNull();
    const report = JSON.parse(read.text);
    expect(report).toMatchObject({
      month: '2026-11',
      timeZone: 'Europe/Stockholm',
      period: { from: '2026-11-01', to: '2026-12-01' },
      rentals: {
        started: 2, // b, c
        ended: 1, // c
        active: 3, // a, b, c
        activeByStatus: { CONFIRMED: 2, TERMINATED: 1 },
        endedByStatus: { TERMINATED: 1 },
        endedByReason: { TERMINATED_EARLY: 1 }, // c, by request
        inArrears: 0,
      },
      money: [
        {
          instrumentType: 'guitar',
          currency: 'EUR',
          charges: 2,
          revenueCents: 5000,
          refunds: 0,
          refundsCents: 0,
          netCents: 5000,
        },
        {
          instrumentType: 'piano',
          currency: 'EUR',
          charges: 1,
          revenueCents: 4000,
          refunds: 1,
          refundsCents: 2000,
          netCents: 2000,
        },
      ],
      // Guitars: a all 30 days, b 21 (November 10 to December 1), of 3 × 30; the piano: 19 of 30.
      utilisation: [
        { instrumentType: 'guitar', instruments: 3, rentedDays: 51, availableDays: 90, utilisation: 0.5667 },
        { instrumentType: 'piano', instruments: 1, rentedDays: 19, availableDays: 30, utilisation: 0.6333 },
      ],
    });

    const page = await call('GET', '/?month=2026-11', {
      accept: 'text/html,application/xhtml+xml,*/*;q=0.8',
    });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.text).toContain('<h1>Soundgood monthly report 2026-11</h1>');
    expect(page.text).toContain(
      '<tr><td>guitar</td><td>2</td><td>50.00 EUR</td><td>0</td><td>0.00 EUR</td><td>50.00 EUR</td></tr>',
    );
    expect(page.text).toContain('<tr><td>piano</td><td>1</td><td>19</td><td>30</td><td>63.3 %</td></tr>');

    const started = performance.now();
    const run = await call('POST', '/?month=2026-11');
    const runMs = performance.now() - started;
    expect(run.status, run.text).toBe(200);
    const eventId = run.headers.get('ce-id');
    expect(eventId).toMatch(/^[0-9a-f-]{36}$/);
    const message = await waitFor(
      () => published.find((m) => m.headers?.ce_id?.toString() === eventId),
      'the report event on the broker topic',
      30_000,
    );
    expect(message.headers?.ce_source?.toString()).toBe('/soundgood/monthly-report');
    expect(message.headers?.ce_partitionkey?.toString()).toBe('2026-11');
    const { generatedAt: _at, ...sameReport } = JSON.parse(run.text);
    expect(JSON.parse(message.value?.toString() ?? '')).toMatchObject(sameReport);
    expect(published.filter((m) => m.headers?.ce_id?.toString() === eventId)).toHaveLength(1);
    console.log(
      `monthly-report: cold start ${coldStartMs.toFixed(0)} ms, POST (extract, transform, publish) ${runMs.toFixed(0)} ms`,
    );
  });

  it('answers 400 naming a wrong month or format, and 502 naming a service that fails', async () => {
    expect(await call('GET', '/?month=2026-13')).toMatchObject({
      status: 400,
      text: '{"message":"month must be YYYY-MM, not \\"2026-13\\""}',
    });
    expect((await call('GET', '/?format=xml')).text).toContain('format must be json or html');
    await soundgood.stop('billing');
    try {
      const failed = await call('POST', '/?month=2026-11');
      expect(failed.status).toBe(502);
      expect(failed.text).toContain(`GET ${soundgood.services.billing.url}/charges`);
    } finally {
      await soundgood.start('billing');
    }
  });
});
