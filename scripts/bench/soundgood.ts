/**
 * One configuration of Soundgood under test: the five services as separate processes, on fresh
 * databases and a fresh events topic (as the end-to-end tests start them), either straight on Kafka
 * or behind a Knative Kafka-broker data plane of their own (scripts/infra/knative.ts), seeded through
 * their HTTP APIs with students, payment accounts and instruments enough for the sagas to come.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import pg from 'pg';
import { createTopics, freePort } from '../../events/runtime/dist/testing.js';
import { prepareServiceDatabase } from '../../prisma/dist/index.js';
import type { Running } from '../infra/component.ts';
import { knative, startBroker } from '../infra/knative.ts';
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
} from '../stack.ts';

export interface Configuration {
  /** Short name used in tables, topic and database names. */
  name: string;
  description: string;
  env: Record<string, string>;
  /** Services started with the inspector open (on 127.0.0.1), to profile them during a phase. */
  inspect?: boolean;
  /** `knative`: through Knative's broker (receiver + dispatcher); default: straight on Kafka. */
  transport?: 'kafka' | 'knative';
  /** Every Trigger's delivery order on knative; default: the catalog's (each subscription says). */
  deliveryOrder?: 'ORDERED' | 'UNORDERED';
}

/** A rental to request: a fresh instrument, and a student used by at most two rentals. */
export interface Pair {
  studentId: string;
  instrumentId: string;
}

export type Stack = Awaited<ReturnType<typeof startSoundgood>>;

export async function startSoundgood(options: {
  serverUrl: string;
  brokers: string;
  kafka: Kafka;
  run: string;
  configuration: Configuration;
}) {
  const { serverUrl, brokers, kafka, run, configuration } = options;
  const prefix = `bench_${run}_${configuration.name.replaceAll('-', '_')}`;
  let topic = `bench.${run}.${configuration.name}.events`;
  const deadLetterTopic = `bench.${run}.${configuration.name}.dead-letters`;
  const ports = {} as Record<ServiceName, number>;
  for (const name of serviceNames) ports[name] = await freePort();
  // The services accept this issuer's tokens; the load runs as staff, without a rate limit.
  const auth = await startStackIssuer();

  // On knative the events travel on the broker's topic, written by its receiver and dispatcher.
  let broker: Running | undefined;
  let transportEnvironment = (databaseUrl: string) =>
    kafkaEnvironment(databaseUrl, brokers, { events: topic, deadLetters: deadLetterTopic });
  if (configuration.transport === 'knative') {
    const started = await startBroker({
      kafkaBrokers: brokers,
      namespace: `bench-${run}-${configuration.name}`,
      port: await freePort(),
      deadLetterTopic,
      subscriberUrl: (service) => `http://127.0.0.1:${ports[service]}`,
      ...(configuration.deliveryOrder ? { deliveryOrder: configuration.deliveryOrder } : {}),
    });
    broker = started.running;
    topic = started.contract.resources[0].topics[0] as string;
    transportEnvironment = (databaseUrl) => knativeEnvironment(databaseUrl, started.ingress);
  } else {
    await createTopics(kafka, [topic, deadLetterTopic]);
  }

  const databases = {} as Record<ServiceName, string>;
  const services = {} as Record<ServiceName, ServiceProcess>;
  const inspectorPorts = {} as Record<ServiceName, number>;
  for (const name of serviceNames) {
    inspectorPorts[name] = await freePort();
    databases[name] = await prepareServiceDatabase(serverUrl, name, `${prefix}_${name}`);
    services[name] = describeService(name, ports[name], await freePort(), {
      ...transportEnvironment(databases[name]),
      ...auth.env,
      RATE_LIMIT: '1000000',
      ...configuration.env,
      ...(configuration.inspect ? { NODE_OPTIONS: `--inspect=127.0.0.1:${inspectorPorts[name]}` } : {}),
    });
  }
  try {
    await Promise.all(serviceNames.map((name) => startService(services[name])));
  } catch (error) {
    await Promise.all(serviceNames.map((name) => stopService(services[name], 'SIGKILL')));
    if (broker) await knative.stop(broker);
    await auth.issuer.close();
    throw error;
  }

  const post = async (service: ServiceName, method: string, path: string, body: unknown) => {
    const response = await fetch(`${services[service].url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...auth.staff },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status >= 300) {
      throw new Error(`${method} ${service}${path} answered ${response.status}: ${text}`);
    }
    return { response, body: text ? (JSON.parse(text) as unknown) : undefined };
  };

  return {
    configuration,
    inspectorPorts,
    topic,
    services,
    /** `Authorization` of a staff member, for the load's and the checks' requests. */
    staffHeaders: auth.staff,
    databases,
    post,

    /** Students (with a card that approves), accounts and instruments for `count` rentals. */
    async seed(count: number, concurrency = 16): Promise<Pair[]> {
      const pairs: Pair[] = [];
      for (let i = 0; i < count; i++) {
        const studentId = i % 2 === 0 ? randomUUID() : (pairs[i - 1] as Pair).studentId;
        pairs.push({ studentId, instrumentId: randomUUID() });
      }
      const tasks: (() => Promise<unknown>)[] = [];
      for (const [i, { studentId, instrumentId }] of pairs.entries()) {
        if (i % 2 === 0) {
          tasks.push(async () => {
            await post('students', 'POST', '/students', {
              id: studentId,
              name: `Bench ${studentId.slice(0, 8)}`,
              email: `${studentId}@bench.soundgood.test`,
            });
            await post('billing', 'PUT', `/accounts/${studentId}`, { paymentMethod: 'pm_card_visa' });
          });
        }
        tasks.push(() =>
          post('inventory', 'POST', '/instruments', {
            id: instrumentId,
            type: 'guitar',
            brand: 'Yamaha',
            monthlyFeeCents: 2500,
            currency: 'EUR',
          }),
        );
      }
      await inParallel(tasks, concurrency);
      return pairs;
    },

    /** The rentals database, to read the saga history of the sagas a phase ran. */
    async queryRentals<T>(sql: string, values: unknown[]): Promise<T[]> {
      const client = new pg.Client({ connectionString: databases.rentals });
      await client.connect();
      try {
        return (await client.query(sql, values)).rows as T[];
      } finally {
        await client.end();
      }
    },

    async metrics(): Promise<Record<ServiceName, string>> {
      const texts = await Promise.all(
        serviceNames.map((name) => fetch(services[name].metricsUrl).then((r) => r.text())),
      );
      return Object.fromEntries(serviceNames.map((name, i) => [name, texts[i]])) as Record<
        ServiceName,
        string
      >;
    },

    /** The broker's receiver and dispatcher JVMs (knative only). */
    brokerPids(): number[] {
      return broker?.pids ?? [];
    },

    pids(): Record<ServiceName, number | undefined> {
      return Object.fromEntries(serviceNames.map((name) => [name, services[name].child?.pid])) as Record<
        ServiceName,
        number | undefined
      >;
    },

    async stop(): Promise<void> {
      // Killed: a graceful stop takes seconds per service and nothing here needs it.
      await Promise.all(serviceNames.map((name) => stopService(services[name], 'SIGKILL')));
      if (broker) await knative.stop(broker);
      await auth.issuer.close();
      const admin = new pg.Client({ connectionString: serverUrl });
      await admin.connect();
      try {
        for (const name of serviceNames)
          await admin.query(`DROP DATABASE IF EXISTS "${prefix}_${name}" WITH (FORCE)`);
      } finally {
        await admin.end();
      }
      const kafkaAdmin = kafka.admin();
      await kafkaAdmin.connect();
      await kafkaAdmin.deleteTopics({ topics: [topic, deadLetterTopic] }).catch(() => undefined);
      await kafkaAdmin.disconnect();
    },
  };
}

/** Runs the tasks with at most `concurrency` at a time; the first failure fails the whole. */
export async function inParallel(tasks: (() => Promise<unknown>)[], concurrency: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const task = tasks[next++] as () => Promise<unknown>;
      await task();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, worker));
}
