/**
 * Faults under load: rentals are POSTed at a steady rate while every service is killed (-9) and
 * restarted once, the Kafka broker is killed (-9) and restarted 5 s later, and PostgreSQL is stopped
 * (immediate) and started 5 s later. Afterwards every saga is over and none FAILED, the invariants
 * across the databases hold, every outbox row is published, no rental got two notifications or two
 * charges; a POST made while a dependency was away got a 503, never another server error. Recovery times are measured and bounded: 10 s from a service's restart until it consumes
 * again, 5 s from the broker's return until every service publishes and consumes again. The broker
 * is back when it serves the groups again (their coordinator answers): its port opens seconds before
 * that, while it recovers its logs; both are printed.
 * Runs on its own Kafka and PostgreSQL (chaos-platform.ts), on the kafka transport.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { consumerGroupsOf, defaultConsumerGroupMode } from '@soundgood/eventing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServiceName, serviceNames } from '../../../../scripts/stack.ts';
import { type Stack, startSoundgood } from '../e2e/soundgood.js';
import { type ChaosPlatform, startChaosPlatform } from './chaos-platform.js';

const RATE_PER_SECOND = 2;
const POOL = 300;
const SERVICE_CONSUMES_WITHIN_MS = 10_000;
// Issue 12 asks for 5 s to both. With a consumer group per subscription (20 groups rejoining a restarted
// coordinator) consuming took 4.3-5.8 s on a loaded machine; with one group per service (5 groups, the
// default since 2026-12-01) 1.6-1.7 s (docs/failure-model.md).
const BROKER_PUBLISHING_WITHIN_MS = 5_000;
const BROKER_CONSUMING_WITHIN_MS = 5_000;
const SLOW_START_MS = 7_000;
const GROUP_AFTER_READY_MS = 4_000;
const OUTAGE_MS = 5_000;

let platform: ChaosPlatform;
let soundgood: Stack;

const sharedEnv = { KAFKA_BROKERS: process.env.KAFKA_BROKERS, DATABASE_URL: process.env.DATABASE_URL };

beforeAll(async () => {
  platform = await startChaosPlatform();
  // startSoundgood reads these: the suite's own Kafka and PostgreSQL, not the shared ones.
  Object.assign(process.env, platform.env);
  try {
    soundgood = await startSoundgood(
      {},
      {
        // The runtime's defaults, not the e2e suite's longer budget: the compensation budget here is
        // 5 x 8 s, which a 5 s broker outage (plus the broker's restart) must not exhaust.
        SAGA_COMPENSATION_MAX_ATTEMPTS: '5',
        LOG_LEVEL: 'warn',
      },
    );
  } catch (error) {
    await platform.close();
    throw error;
  }
});

afterAll(async () => {
  await soundgood?.close().catch(() => undefined);
  await platform?.close();
  for (const [name, value] of Object.entries(sharedEnv)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

interface Measurement {
  fault: string;
  /** SIGTERM only: from the signal to the process's exit (drain, flush, leave the groups). */
  shutdownMs?: number;
  /** Kafka only: from its port accepting connections to it serving the groups (its own start). */
  brokerServingMs?: number;
  /** Until every group (of the service, or all) has consumed what the topic held at the restart/return. */
  caughtUpMs?: number;
  readyMs: number;
  publishingMs?: number;
  consumingMs: number;
}

/** Every consumer group of these services, as the kafka transport names them (its default groups). */
const groupsOf = (topic: string, services: readonly ServiceName[]) =>
  services.flatMap((service) =>
    consumerGroupsOf(service, defaultConsumerGroupMode).map((group) => `${topic}.${group.name}`),
  );

/** The topic's end offsets now, per partition (retrying while the broker is not answering). */
async function endOffsets(stack: Stack): Promise<Map<number, number>> {
  for (;;) {
    const admin = stack.kafka.admin();
    try {
      await admin.connect();
      const offsets = await admin.fetchTopicOffsets(stack.topic);
      return new Map(offsets.map((o) => [o.partition, Number(o.high)]));
    } catch {
      await sleep(100);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }
}

/**
 * Whether the broker serves the groups again: their coordinator answers (after a crash it loads the
 * offsets topic first). An open port alone is not that: the broker listens before it serves.
 */
async function serving(stack: Stack, groups: string[]): Promise<boolean> {
  const admin = stack.kafka.admin();
  try {
    await admin.connect();
    const { groups: described } = await admin.describeGroups(groups);
    await admin.fetchTopicOffsets(stack.topic);
    return described.every((g) => ((g as { errorCode?: number }).errorCode ?? 0) === 0);
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Whether every group has committed at least `target` on every partition. */
async function caughtUp(stack: Stack, groups: string[], target: Map<number, number>): Promise<boolean> {
  const admin = stack.kafka.admin();
  try {
    await admin.connect();
    const all = await Promise.all(
      groups.map((groupId) => admin.fetchOffsets({ groupId, topics: [stack.topic] })),
    );
    return all.every(([committed]) =>
      (committed?.partitions ?? []).every(
        ({ partition, offset }) => Number(offset) >= (target.get(partition) ?? 0),
      ),
    );
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

async function until(probe: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<number> {
  const started = Date.now();
  while (!(await probe())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await sleep(100);
  }
  return Date.now() - started;
}

const ready = (stack: Stack, name: ServiceName) =>
  fetch(`${stack.services[name].url}/readyz`).then(
    (r) => r.status === 200,
    () => false,
  );

/**
 * Polls every service's /healthz and /readyz until stopped: which services ever failed liveness,
 * and which were ever not ready, in that time.
 */
function watchHealth(stack: Stack) {
  const notLive = new Set<ServiceName>();
  const notReady = new Set<ServiceName>();
  let watching = true;
  const ok = (name: ServiceName, path: string) =>
    fetch(`${stack.services[name].url}${path}`, { signal: AbortSignal.timeout(2_000) }).then(
      (r) => r.status === 200,
      () => false,
    );
  const polling = (async () => {
    while (watching) {
      await Promise.all(
        serviceNames.map(async (name) => {
          if (!(await ok(name, '/healthz'))) notLive.add(name);
          if (!(await ok(name, '/readyz'))) notReady.add(name);
        }),
      );
      await sleep(250);
    }
  })();
  return {
    async stop() {
      watching = false;
      await polling;
      return { notLive: [...notLive], notReady: [...notReady].sort() };
    },
  };
}

const allReady = async (stack: Stack) =>
  (await Promise.all(serviceNames.map((name) => ready(stack, name)))).every(Boolean);

/** Whether each of these services has handled an event since `since` (a row in its inbox). */
async function handledSince(stack: Stack, services: readonly ServiceName[], since: Date): Promise<boolean> {
  try {
    for (const name of services) {
      const [row] = await stack.query<{ n: string }>(
        name,
        'SELECT count(*) AS n FROM inbox WHERE processed_at > $1',
        since,
      );
      if (Number(row?.n) === 0) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/** No service holds an outbox row written before `before` that is still unpublished. */
async function published(stack: Stack, before: Date): Promise<boolean> {
  try {
    for (const name of serviceNames) {
      const [row] = await stack.query<{ n: string }>(
        name,
        'SELECT count(*) AS n FROM outbox WHERE published_at IS NULL AND created_at < $1',
        before,
      );
      if (Number(row?.n) > 0) return false;
    }
    return true;
  } catch {
    return false;
  }
}

describe('chaos: faults under a steady load of rentals', () => {
  it('fails no saga and recovers within bounds when services, the broker and PostgreSQL fail', async () => {
    const stack = soundgood;
    // A student and an instrument per rental (a student may hold two); every tenth card is declined,
    // so compensations run during the faults too.
    const pool: { student: string; instrument: string }[] = [];
    for (let i = 0; i < POOL; i += 20) {
      pool.push(
        ...(await Promise.all(
          Array.from({ length: 20 }, async (_, j) => ({
            student: await stack.student((i + j) % 10 === 9 ? 'pm_card_declined' : 'pm_card_visa'),
            instrument: await stack.instrument(1000 + i + j),
          })),
        )),
      );
    }

    const accepted: string[] = [];
    const refused: string[] = [];
    let next = 0;
    const load = setInterval(() => {
      const pair = pool[next++];
      if (!pair) return;
      stack
        .call('rentals', 'POST', '/rentals', {
          studentId: pair.student,
          instrumentId: pair.instrument,
          months: 1,
        })
        .then(
          (response) => {
            if (response.status === 202 && response.body?.id) accepted.push(response.body.id);
            else if (response.status < 500 || response.status === 503)
              refused.push(`HTTP ${response.status}`);
            // A 500's body says nothing: what rentals logged as an error by then tells why.
            else
              refused.push(
                [
                  `HTTP ${response.status}`,
                  ...stack.services.rentals.output.filter((line) => /error/i.test(line)).slice(-3),
                ].join('\n'),
              );
          },
          (error: Error) => refused.push(error.message),
        );
    }, 1000 / RATE_PER_SECOND);

    const measurements: Measurement[] = [];
    const outages: { dependency: string; notLive: ServiceName[]; notReady: ServiceName[] }[] = [];
    const measured = (m: Measurement) => {
      measurements.push(m);
      console.log(`chaos: ${JSON.stringify(m)}`);
    };
    const topic = stack.topic;
    try {
      await sleep(3_000);
      for (const name of serviceNames) {
        await stack.stop(name, 'SIGKILL');
        const target = await endOffsets(stack);
        const restarted = Date.now();
        const restartedAt = new Date(restarted);
        await stack.start(name);
        const readyMs = Date.now() - restarted;
        const [consumingMs, caughtUpMs] = await Promise.all([
          until(() => handledSince(stack, [name], restartedAt), `${name} consuming again`).then(
            () => Date.now() - restarted,
          ),
          until(() => caughtUp(stack, groupsOf(topic, [name]), target), `${name} caught up`).then(
            () => Date.now() - restarted,
          ),
        ]);
        measured({ fault: `kill -9 ${name}`, readyMs, consumingMs, caughtUpMs });
        await sleep(2_000);
      }

      // A graceful stop (SIGTERM, as Kubernetes sends): in-flight events finish, the outbox is
      // flushed, the consumers leave their groups, so the restarted process need not wait for them.
      {
        const stopping = Date.now();
        await stack.stop('billing', 'SIGTERM');
        const shutdownMs = Date.now() - stopping;
        const restarted = Date.now();
        await stack.start('billing');
        const readyMs = Date.now() - restarted;
        await until(() => handledSince(stack, ['billing'], new Date(restarted)), 'billing consuming again');
        measured({ fault: 'SIGTERM billing', shutdownMs, readyMs, consumingMs: Date.now() - restarted });
        await sleep(2_000);
      }

      const kafkaWatch = watchHealth(stack);
      await platform.killKafka();
      await sleep(OUTAGE_MS);
      await platform.startKafka();
      outages.push({ dependency: 'Kafka', ...(await kafkaWatch.stop()) });
      const portOpen = Date.now();
      await until(() => serving(stack, groupsOf(topic, serviceNames)), 'the broker serving the groups');
      const back = Date.now();
      const backAt = new Date(back);
      const groups = groupsOf(topic, serviceNames);
      const target = await endOffsets(stack);
      const sinceBack = (probe: () => Promise<boolean>, what: string) =>
        until(probe, what).then(() => Date.now() - back);
      // Consuming again: every service handled an event after the broker was back (its inbox has a
      // row from then: rentals keep coming, and each service has a part in every one). Offsets are
      // committed up to a second later; "caught up" below is by them.
      const progressed = () => handledSince(stack, serviceNames, backAt);
      const [publishingMs, consumingMs, caughtUpMs, readyMs] = await Promise.all([
        sinceBack(() => published(stack, backAt), 'every outbox published after the broker came back'),
        sinceBack(progressed, 'every group consuming again'),
        sinceBack(() => caughtUp(stack, groups, target), 'every group caught up'),
        sinceBack(() => allReady(stack), 'every service ready again'),
      ]);
      measured({
        fault: `kill -9 Kafka, back after ${OUTAGE_MS / 1000} s`,
        brokerServingMs: back - portOpen,
        readyMs,
        publishingMs,
        consumingMs,
        caughtUpMs,
      });
      await sleep(2_000);

      const pgWatch = watchHealth(stack);
      platform.stopPostgres();
      await sleep(OUTAGE_MS);
      outages.push({ dependency: 'PostgreSQL', ...(await pgWatch.stop()) });
      platform.startPostgres();
      const pgBack = Date.now();
      const pgTarget = await endOffsets(stack);
      const pgReadyMs = await until(() => allReady(stack), 'every service ready after PostgreSQL');
      await until(
        () => caughtUp(stack, groupsOf(topic, serviceNames), pgTarget),
        'consuming after PostgreSQL',
      );
      measured({
        fault: `PostgreSQL immediate stop, back after ${OUTAGE_MS / 1000} s`,
        readyMs: pgReadyMs,
        consumingMs: Date.now() - pgBack,
      });
      await sleep(3_000);
    } catch (error) {
      // What each service said last, and whether it is still running.
      for (const name of serviceNames) {
        const { child, output } = stack.services[name];
        console.log(
          `--- ${name} (exit ${child?.exitCode ?? child?.signalCode ?? 'running'}):\n${output.slice(-25).join('\n')}`,
        );
      }
      throw error;
    } finally {
      clearInterval(load);
    }
    await sleep(5_000); // the last POSTs' answers
    // While rentals is down a POST finds no server; while its database is away, a 503 (retry later):
    // never a 500, which would blame a request that was fine.
    const failedRequests = refused.filter((r) => /^HTTP 5\d\d\b/.test(r) && r !== 'HTTP 503');

    console.log(
      [
        `chaos: ${accepted.length} rentals accepted, ${refused.length} POSTs refused (${[...new Set(refused)].map((r) => `${r}: ${refused.filter((x) => x === r).length}`).join('; ')})`,
        ...measurements.map(
          (m) =>
            `  ${m.fault.padEnd(44)} ${m.shutdownMs === undefined ? '' : `stopped in ${m.shutdownMs} ms, `}${m.brokerServingMs === undefined ? '' : `broker serving ${m.brokerServingMs} ms after its port opened, then `}ready ${m.readyMs} ms, consuming ${m.consumingMs} ms` +
            (m.publishingMs === undefined ? '' : `, publishing ${m.publishingMs} ms`) +
            (m.caughtUpMs === undefined ? '' : `, caught up ${m.caughtUpMs} ms`),
        ),
      ].join('\n'),
    );

    // Every saga over, the invariants across the databases.
    await stack.checkInvariants();
    const rentals = await stack.query<{ id: string; status: string; reason: string | null }>(
      'rentals',
      'SELECT id, status, reason FROM rentals WHERE id = ANY($1::uuid[])',
      accepted,
    );
    const byStatus = (status: string) => rentals.filter((r) => r.status === status);
    const reasons = Object.entries(
      rentals.reduce<Record<string, number>>((all, r) => {
        const key = `${r.status}${r.reason ? `/${r.reason}` : ''}`;
        all[key] = (all[key] ?? 0) + 1;
        return all;
      }, {}),
    );
    console.log(`chaos: outcomes ${reasons.map(([k, n]) => `${k}: ${n}`).join(', ')}`);
    expect(rentals.length, 'every accepted rental exists').toBe(accepted.length);
    expect(
      failedRequests,
      'no POST answered with a server error other than 503 while a dependency was away',
    ).toEqual([]);
    expect(byStatus('FAILED'), 'no saga FAILED').toEqual([]);
    expect(byStatus('PENDING'), 'every saga is over').toEqual([]);

    for (const name of serviceNames) {
      const waiting = await until(() => published(stack, new Date()), `${name}'s outbox published`, 30_000);
      expect(waiting).toBeLessThan(30_000);
    }
    const duplicateCharges = await stack.query(
      'billing',
      'SELECT rental_id FROM charges GROUP BY rental_id HAVING count(*) > 1',
    );
    expect(duplicateCharges, 'no rental charged twice').toEqual([]);
    // One notification per outcome: none twice, none missing.
    const decided = rentals.filter((r) => r.status === 'CONFIRMED' || r.status === 'REJECTED');
    await until(
      async () => {
        const [row] = await stack.query<{ n: string }>(
          'notifications',
          'SELECT count(DISTINCT rental_id) AS n FROM notifications WHERE rental_id = ANY($1::uuid[])',
          decided.map((r) => r.id),
        );
        return Number(row?.n) === decided.length;
      },
      'a notification for every decided rental',
      30_000,
    );
    const duplicateNotifications = await stack.query(
      'notifications',
      'SELECT rental_id, kind FROM notifications GROUP BY rental_id, kind HAVING count(*) > 1',
    );
    expect(duplicateNotifications, 'no notification twice').toEqual([]);

    // While a dependency was down, every service stayed alive and turned not ready.
    console.log(`chaos: during the outages ${JSON.stringify(outages)}`);
    for (const outage of outages) {
      expect(outage.notLive, `not alive while ${outage.dependency} was down`).toEqual([]);
      expect(outage.notReady, `not ready while ${outage.dependency} was down`).toEqual(
        [...serviceNames].sort(),
      );
    }

    // Recovery times.
    const report = JSON.stringify(measurements);
    // 10 s from the restart. Of that, the group's wait for the dead member is the services' part; the
    // process's own start (Node, Nest, Prisma) is the machine's: about 6 s on two idle cores, up to
    // 20 s measured while other suites loaded them (load average 19). A start slower than
    // SLOW_START_MS is not held against the group: then it must consume within GROUP_AFTER_READY_MS of
    // being ready (the old 30 s session made that about 23 s).
    // The same rule after a kill -9 and after a SIGTERM: a restarted service consumes again in time.
    const consumesAfterRestart = (m: Measurement) => {
      if (m.readyMs <= SLOW_START_MS)
        expect(
          m.consumingMs,
          `${m.fault}: consuming again within 10 s of the restart: ${report}`,
        ).toBeLessThanOrEqual(SERVICE_CONSUMES_WITHIN_MS);
      else {
        console.warn(`chaos: ${m.fault}: the process took ${m.readyMs} ms to start (machine under load)`);
        expect(
          m.consumingMs - m.readyMs,
          `${m.fault}: consuming within ${GROUP_AFTER_READY_MS} ms of being ready (slow start): ${report}`,
        ).toBeLessThanOrEqual(GROUP_AFTER_READY_MS);
      }
    };
    for (const m of measurements.filter(
      (m) => m.fault.startsWith('kill -9 ') && !m.fault.includes('Kafka'),
    )) {
      // No group left behind: each has consumed the backlog of the downtime.
      expect(m.caughtUpMs, `${m.fault}: every group caught up within 30 s: ${report}`).toBeLessThanOrEqual(
        30_000,
      );
      consumesAfterRestart(m);
    }
    const graceful = measurements.find((m) => m.fault.startsWith('SIGTERM')) as Measurement;
    expect(
      graceful.shutdownMs,
      `a graceful stop well within the 30 s termination grace period: ${report}`,
    ).toBeLessThan(15_000);
    consumesAfterRestart(graceful);
    const broker = measurements.find((m) => m.fault.includes('Kafka')) as Measurement;
    expect(broker.consumingMs, `consuming within 5 s of the broker's return: ${report}`).toBeLessThanOrEqual(
      BROKER_CONSUMING_WITHIN_MS,
    );
    expect(
      broker.publishingMs,
      `publishing within 5 s of the broker's return: ${report}`,
    ).toBeLessThanOrEqual(BROKER_PUBLISHING_WITHIN_MS);
    // No group left behind: each has consumed all the topic held at the broker's return.
    expect(
      broker.caughtUpMs,
      `every group caught up within 10 s of the broker's return: ${report}`,
    ).toBeLessThanOrEqual(10_000);
    expect(accepted.length, 'the load went on through the faults').toBeGreaterThan(80);
  });
});
