/**
 * The whole of Soundgood for end-to-end tests: the five services as separate processes, each on its
 * own fresh database, on a topic of their own, on either transport:
 * - `knative` (default): behind a Knative Kafka-broker data plane of their own (scripts/infra/knative.ts),
 *   publishing to its ingress and receiving its Triggers' deliveries, as in a cluster;
 * - `kafka`: straight on Kafka, a consumer group per subscription.
 * `SOUNDGOOD_E2E_TRANSPORT` chooses (vitest.config.ts runs the e2e suites once per transport).
 * Plus an API client, and the invariants that must hold across the services' databases once no
 * saga is in flight.
 */
import { randomUUID } from 'node:crypto';
import { createTopics, freePort, requireEnv, testKafka, waitFor } from '@soundgood/eventing/testing';
import { prepareServiceDatabase } from '@soundgood/prisma';
import pg from 'pg';
import { expect } from 'vitest';
import type { Running } from '../../../../scripts/infra/component.ts';
import { knative, startBroker } from '../../../../scripts/infra/knative.ts';
import { postTick, schoolDayTick, tickRecord } from '../../../../scripts/school-clock.ts';
import {
  describeService,
  kafkaEnvironment,
  knativeEnvironment,
  type ServiceName,
  type ServiceProcess,
  serviceNames,
  startService,
  startStackIssuer,
  stopService,
} from '../../../../scripts/stack.ts';

export interface Rental {
  id: string;
  status: string;
  reason: string | null;
  startsOn: string | null;
  endsOn: string | null;
  saga: {
    status: string;
    step: string;
    history: { step: string; action: string; outcome: string; reason: string | null }[];
  };
}

export type Stack = Awaited<ReturnType<typeof startSoundgood>>;

/** Day D of the Nth month after, or that month's last day: written apart from the service's library. */
export const monthsAfter = (date: string, months: number) => {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const lastDay = new Date(Date.UTC(year, month + months, 0)).getUTCDate();
  return new Date(Date.UTC(year, month - 1 + months, Math.min(day, lastDay))).toISOString().slice(0, 10);
};
export type Transport = 'knative' | 'kafka';

export const transport = (process.env.SOUNDGOOD_E2E_TRANSPORT ?? 'knative') as Transport;
if (!['knative', 'kafka'].includes(transport))
  throw new Error(`SOUNDGOOD_E2E_TRANSPORT must be knative or kafka, not ${transport}`);

/** `common` is added to every service's environment, `overrides` to one service's. */
export async function startSoundgood(
  overrides: Partial<Record<ServiceName, Record<string, string>>> = {},
  common: Record<string, string> = {},
) {
  const serverUrl = requireEnv('DATABASE_URL');
  const brokers = requireEnv('KAFKA_BROKERS');
  const run = randomUUID().slice(0, 8);
  const deadLetterTopic = `e2e.${run}.dead-letters`;
  const kafka = testKafka(brokers);
  const ports = {} as Record<ServiceName, number>;
  for (const name of serviceNames) ports[name] = await freePort();
  // The services accept this issuer's tokens; `call` sends a staff token unless given another.
  const auth = await startStackIssuer();

  // The topic the services' events travel on: the broker's, or the kafka transport's own.
  let topic = `e2e.${run}.events`;
  let broker: Running | undefined;
  let ingress: string | undefined;
  let transportEnvironment: (databaseUrl: string) => Record<string, string>;
  if (transport === 'knative') {
    const started = await startBroker({
      kafkaBrokers: brokers,
      namespace: `e2e-${run}`,
      port: await freePort(),
      deadLetterTopic,
      subscriberUrl: (service) => `http://127.0.0.1:${ports[service]}`,
      // The broker's spans go where the services' go: one trace per saga, the broker's hops in it.
      ...(common.OTEL_EXPORTER_OTLP_ENDPOINT ? { otlpEndpoint: common.OTEL_EXPORTER_OTLP_ENDPOINT } : {}),
    });
    broker = started.running;
    topic = started.contract.resources[0].topics[0] as string;
    ingress = started.ingress;
    transportEnvironment = (databaseUrl) => knativeEnvironment(databaseUrl, started.ingress);
  } else {
    await createTopics(kafka, [topic, deadLetterTopic]);
    transportEnvironment = (databaseUrl) =>
      kafkaEnvironment(databaseUrl, brokers, { events: topic, deadLetters: deadLetterTopic });
  }

  const databases = {} as Record<ServiceName, string>;
  const services = {} as Record<ServiceName, ServiceProcess>;
  for (const name of serviceNames) {
    databases[name] = await prepareServiceDatabase(serverUrl, name, `e2e_${run}_${name}`);
    services[name] = describeService(name, ports[name], await freePort(), {
      ...transportEnvironment(databases[name]),
      OUTBOX_POLL_INTERVAL_MS: '500',
      EVENT_RETRY_BACKOFF_MS: '100',
      // Long enough for a loaded CI machine; the billing-down test waits for one deadline.
      SAGA_STEP_TIMEOUT_MS: '8000',
      SAGA_SWEEP_INTERVAL_MS: '200',
      SAGA_COMPENSATION_MAX_ATTEMPTS: '15',
      ...auth.env,
      // Load tests rent far more than a person would, all as staff.
      RATE_LIMIT: '100000',
      ...common,
      ...overrides[name],
    });
  }
  try {
    await Promise.all(serviceNames.map((name) => startService(services[name])));
  } catch (error) {
    // The suite's afterAll has no stack to close yet: stop what did start, so nothing outlives the run.
    await Promise.all(serviceNames.map((name) => stopService(services[name])));
    if (broker) await knative.stop(broker);
    await auth.issuer.close();
    throw error;
  }

  const call = async (service: ServiceName, method: string, path: string, body?: unknown, headers = {}) => {
    const response = await fetch(`${services[service].url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...auth.staff, ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  };

  const query = async <T>(service: ServiceName, sql: string, ...values: unknown[]): Promise<T[]> => {
    const client = new pg.Client({ connectionString: databases[service] });
    await client.connect();
    try {
      return (await client.query(sql, values)).rows as T[];
    } finally {
      await client.end();
    }
  };

  return {
    transport,
    kafka,
    /** Where the services' events are stored: the broker's topic on knative. */
    topic,
    deadLetterTopic,
    services,
    databases,
    /** The issuer the services trust: `issuer.student(id)` mints a student's token. */
    issuer: auth.issuer,
    /** `Authorization` of a staff member, for direct fetches. */
    staffHeaders: auth.staff,
    call,
    query,

    /**
     * Sends the daily tick of the instant `at` (its school day: the date of `at` in Stockholm), as the
     * PingSource school-day does in a cluster and scripts/school-clock.ts under `npm start`.
     */
    async tick(at: Date, id?: string): Promise<void> {
      const tick = schoolDayTick(at, 'Europe/Stockholm', id);
      if (ingress) return postTick(ingress, tick);
      const producer = kafka.producer();
      await producer.connect();
      try {
        await producer.send({ topic, messages: [tickRecord(tick)] });
      } finally {
        await producer.disconnect();
      }
    },

    async student(paymentMethod = 'pm_card_visa'): Promise<string> {
      const id = randomUUID();
      expect(
        (
          await call('students', 'POST', '/students', {
            id,
            name: `Student ${id.slice(0, 4)}`,
            email: `${id}@soundgood.test`,
          })
        ).status,
      ).toBe(201);
      const account = await call('billing', 'PUT', `/accounts/${id}`, { paymentMethod });
      expect([200, 201]).toContain(account.status);
      return id;
    },

    async instrument(monthlyFeeCents = 2500): Promise<string> {
      const id = randomUUID();
      const created = await call('inventory', 'POST', '/instruments', {
        id,
        type: 'guitar',
        brand: 'Yamaha',
        monthlyFeeCents,
        currency: 'EUR',
      });
      expect(created.status).toBe(201);
      return id;
    },

    async rent(studentId: string, instrumentId: string, months = 3, headers = {}): Promise<string> {
      const response = await call(
        'rentals',
        'POST',
        '/rentals',
        { studentId, instrumentId, months },
        headers,
      );
      expect(response.status, JSON.stringify(response.body)).toBe(202);
      expect(response.headers.get('location')).toBe(`/rentals/${response.body.id}`);
      return response.body.id as string;
    },

    async rental(id: string): Promise<Rental> {
      return (await call('rentals', 'GET', `/rentals/${id}`)).body as Rental;
    },

    /** Waits until the rental's saga has decided (COMPLETED, REJECTED or FAILED; or already ending). */
    async settled(id: string, timeoutMs = 30_000): Promise<Rental> {
      // Decided: the saga is past renting (COMPLETED, REJECTED, FAILED, or already ENDING/ENDED) and the
      // rental says so; anything else (a saga still running, an answer without one) is waited out.
      let last: unknown;
      try {
        return await waitFor(
          async () => {
            const rental = (await call('rentals', 'GET', `/rentals/${id}`)).body as Rental;
            last = rental;
            const decided = ['COMPLETED', 'REJECTED', 'FAILED', 'ENDING', 'ENDED'].includes(
              rental.saga?.status,
            );
            return decided && rental.status !== 'PENDING' ? rental : undefined;
          },
          `the saga of rental ${id} to finish`,
          timeoutMs,
        );
      } catch (error) {
        throw new Error(`${(error as Error).message}; last seen: ${JSON.stringify(last)}`);
      }
    },

    stop: (name: ServiceName, signal?: NodeJS.Signals) => stopService(services[name], signal),
    start: (name: ServiceName) => startService(services[name]),

    /** Holds across all databases once every saga is over. */
    async checkInvariants(): Promise<void> {
      await waitFor(
        async () =>
          (await call('rentals', 'GET', '/sagas?status=in-flight')).body.length === 0 ? true : undefined,
        'no saga in flight',
        60_000,
      );
      // Replies to termination's release commands may still be on their way: let them land.
      await new Promise((r) => setTimeout(r, 1500));
      const overQuota = await query(
        'students',
        `SELECT student_id FROM rental_slots WHERE status = 'HELD' GROUP BY student_id HAVING count(*) > 2`,
      );
      expect(overQuota, 'no student above two active rentals').toEqual([]);
      const rentedTwice = await query(
        'inventory',
        `SELECT instrument_id FROM reservations WHERE status = 'HELD' GROUP BY instrument_id HAVING count(*) > 1`,
      );
      expect(rentedTwice, 'no instrument rented twice').toEqual([]);

      const active = await query<{ id: string; instrument_id: string; student_id: string }>(
        'rentals',
        `SELECT id, instrument_id, student_id FROM rentals WHERE status = 'CONFIRMED'`,
      );
      const held = await query<{ rental_id: string }>(
        'students',
        `SELECT rental_id FROM rental_slots WHERE status = 'HELD'`,
      );
      expect(held.map((r) => r.rental_id).sort(), 'slots held = active rentals').toEqual(
        active.map((r) => r.id).sort(),
      );
      const holding = await query<{ rental_id: string }>(
        'inventory',
        'SELECT rental_id FROM instruments WHERE rental_id IS NOT NULL',
      );
      expect(holding.map((r) => r.rental_id).sort(), 'instruments held = active rentals').toEqual(
        active.map((r) => r.id).sort(),
      );

      // Monthly charges sent by the daily work are answered before the books are compared.
      await waitFor(
        async () =>
          (await query('rentals', `SELECT 1 FROM rental_months WHERE status = 'DUE'`)).length === 0
            ? true
            : undefined,
        'no monthly charge in flight',
        60_000,
      );
      const [fees] = await query<{ total: string }>(
        'rentals',
        `SELECT coalesce(sum(r.monthly_fee_cents), 0) AS total FROM rentals r JOIN rental_months m ON m.rental_id = r.id
         WHERE r.status IN ('CONFIRMED', 'TERMINATED') AND m.status = 'CHARGED'`,
      );
      const [charged] = await query<{ total: string }>(
        'billing',
        'SELECT coalesce(sum(amount_cents), 0) AS total FROM charges',
      );
      const [refunded] = await query<{ total: string }>(
        'billing',
        'SELECT coalesce(sum(amount_cents), 0) AS total FROM refunds',
      );
      expect(
        Number(charged?.total) - Number(refunded?.total),
        'charges - refunds = the fees of the months charged of confirmed and terminated rentals',
      ).toBe(Number(fees?.total));

      // Months elapsed, by an oracle apart from the service's calendar: an active rental that owes
      // nothing has paid every month due by the last school day processed, an ended one all its months.
      const [clock] = await query<{ date: string | null }>(
        'rentals',
        `SELECT to_char(max(date), 'YYYY-MM-DD') AS date FROM school_days`,
      );
      const settled = await query<{ id: string; status: string; starts_on: string; months: number }>(
        'rentals',
        `SELECT id, status::text, to_char(starts_on, 'YYYY-MM-DD') AS starts_on, months FROM rentals r
         WHERE (status = 'CONFIRMED' OR (status = 'TERMINATED' AND reason = 'ENDED'))
           AND NOT EXISTS (SELECT 1 FROM rental_months m WHERE m.rental_id = r.id AND m.status <> 'CHARGED')`,
      );
      const billed = await query<{ rental_id: string; months: string }>(
        'billing',
        `SELECT rental_id, count(*) AS months FROM charges WHERE status = 'CHARGED' GROUP BY rental_id`,
      );
      const chargedMonths = new Map(billed.map((b) => [b.rental_id, Number(b.months)]));
      for (const rental of settled) {
        const today = clock?.date && clock.date > rental.starts_on ? clock.date : rental.starts_on;
        let due = 0;
        while (due < rental.months && monthsAfter(rental.starts_on, due) <= today) due += 1;
        const expected = rental.status === 'TERMINATED' ? rental.months : due;
        expect(
          chargedMonths.get(rental.id) ?? 0,
          `months charged of ${rental.status} rental ${rental.id}`,
        ).toBe(expected);
      }
    },

    async close(): Promise<void> {
      await Promise.all(serviceNames.map((name) => stopService(services[name])));
      if (broker) await knative.stop(broker);
      await auth.issuer.close();
      const admin = new pg.Client({ connectionString: serverUrl });
      await admin.connect();
      for (const name of serviceNames)
        await admin.query(`DROP DATABASE IF EXISTS "e2e_${run}_${name}" WITH (FORCE)`);
      await admin.end();
    },
  };
}
