// `npm start`: Soundgood without Docker. The local platform (scripts/infra.ts), one database per
// service with its migrations applied, seed data, and the five services as separate processes, their
// JSON logs prefixed with the service name. Ctrl-C stops all.
//
// Transport (`npm start -- --transport=kafka`, or SOUNDGOOD_TRANSPORT=kafka):
//   knative (default)  as in the cluster: Knative's Kafka-broker data plane runs the catalog's
//                      Triggers (scripts/infra/knative.ts); services publish to its ingress and
//                      receive its deliveries on /events, replies go back in the HTTP response
//   kafka              the services read and write Kafka themselves, one consumer group per subscription
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { prepareServiceDatabase } from '../prisma/dist/index.js';
import type { Running } from './infra/component.ts';
import { jaegerUi } from './infra/jaeger.ts';
import { knative, startBroker } from './infra/knative.ts';
import { down, up } from './infra.ts';
import { startSchoolClock, tickSender } from './school-clock.ts';
import {
  describeService,
  type ServiceProcess,
  serviceNames,
  startService,
  startStackIssuer,
  stopService,
} from './stack.ts';

interface Seed {
  students: { id: string; name: string; email: string; paymentMethod: string }[];
  instruments: { id: string; type: string; brand: string; monthlyFeeCents: number; currency: string }[];
}

const transport =
  process.argv.find((a) => a.startsWith('--transport='))?.split('=')[1] ??
  process.env.SOUNDGOOD_TRANSPORT ??
  'knative';
if (transport !== 'knative' && transport !== 'kafka') {
  console.error(`start: --transport must be knative or kafka, not ${transport}`);
  process.exit(2);
}
const brokerPort = Number(process.env.SOUNDGOOD_BROKER_PORT ?? 18080);
// The development OIDC issuer (docs/security.md): its key is kept, so printed tokens survive a restart.
const issuerPort = Number(process.env.SOUNDGOOD_ISSUER_PORT ?? 7300);
const tokenLifetimeS = 12 * 3600;
const auth = await startStackIssuer({
  port: issuerPort,
  keyFile: join(import.meta.dirname, '..', '.cache', 'dev-issuer', 'key.json'),
  tokenLifetimeS,
}).catch((error: Error) => {
  console.error(
    `start: the development issuer cannot listen on :${issuerPort} (${error.message}); set SOUNDGOOD_ISSUER_PORT`,
  );
  process.exit(1);
});

// The Jaeger UI is built (once) for people to look at; the tests read traces from the query API only.
const { state, startedNow } = await up({ knative: transport === 'knative', jaegerUi: true });
const port = (name: (typeof serviceNames)[number]) => 3000 + serviceNames.indexOf(name);
let broker: Running | undefined;
let transportEnv: Record<string, string> = { EVENT_TRANSPORT: 'kafka', KAFKA_BROKERS: state.KAFKA_BROKERS };
if (transport === 'knative') {
  try {
    const started = await startBroker({
      kafkaBrokers: state.KAFKA_BROKERS,
      namespace: 'soundgood',
      port: brokerPort,
      metricsPorts: { receiver: brokerPort + 1110, dispatcher: brokerPort + 1111 },
      subscriberUrl: (name) => `http://127.0.0.1:${port(name)}`,
      // The broker's hops in the same traces as the services' spans.
      ...(state.JAEGER_OTLP_ENDPOINT ? { otlpEndpoint: state.JAEGER_OTLP_ENDPOINT } : {}),
    });
    broker = started.running;
    transportEnv = { EVENT_TRANSPORT: 'knative', K_SINK: started.ingress };
  } catch (error) {
    console.error(`start: ${(error as Error).message}`);
    if (startedNow) await down(state);
    process.exit(1);
  }
}
const services = {} as Record<(typeof serviceNames)[number], ServiceProcess>;
for (const [i, name] of serviceNames.entries()) {
  const databaseUrl = await prepareServiceDatabase(state.DATABASE_URL, name);
  services[name] = describeService(name, port(name), 9464 + i, {
    DATABASE_URL: databaseUrl,
    ...transportEnv,
    ...auth.env,
    // Every span to the platform's Jaeger (OTLP/HTTP): `npm run trace` and the UI read it there.
    ...(state.JAEGER_OTLP_ENDPOINT ? { OTEL_EXPORTER_OTLP_ENDPOINT: state.JAEGER_OTLP_ENDPOINT } : {}),
  });
}

let stopping = false;
let seedData: Seed = { students: [], instruments: [] };
async function stop(code: number): Promise<never> {
  stopping = true;
  await Promise.all(serviceNames.map((name) => stopService(services[name])));
  if (broker) await knative.stop(broker);
  await auth.issuer.close();
  if (startedNow) await down(state);
  process.exit(code);
}
process.on('SIGINT', () => void stop(0)).on('SIGTERM', () => void stop(0));

try {
  await Promise.all(serviceNames.map((name) => startService(services[name], { echo: true })));
  for (const name of serviceNames) {
    services[name].child?.once('exit', (code) => {
      if (!stopping) {
        console.error(`${name} exited with ${code}; stopping everything`);
        void stop(1);
      }
    });
  }
  seedData = JSON.parse(readFileSync(new URL('./seed.json', import.meta.url), 'utf8')) as Seed;
  await seed(seedData);
  // The daily tick of the rental lifecycle, as the PingSource school-day sends it in a cluster.
  const ticks = await tickSender(
    broker
      ? { sink: broker.env.K_SINK as string }
      : { kafkaBrokers: state.KAFKA_BROKERS, topic: 'soundgood.events' },
  );
  startSchoolClock({ send: ticks.send });
} catch (error) {
  console.error(`start: ${(error as Error).message}`);
  await stop(1);
}

console.log(`
Soundgood is running on the ${transport} transport (Ctrl-C stops it):
${serviceNames.map((name) => `  ${name.padEnd(13)} ${services[name].url}   metrics ${services[name].metricsUrl}`).join('\n')}${
  broker ? `\n  ${'broker'.padEnd(13)} ${broker.env.K_SINK}   logs ${broker.logs.join(' ')}` : ''
}
  ${'jaeger'.padEnd(13)} ${state.JAEGER_QUERY_URL ?? '(not running)'}   traces: npm run trace -- <rental id>${
    state.JAEGER_QUERY_URL && !(await servesJaegerUi(state.JAEGER_QUERY_URL))
      ? `\n  ${''.padEnd(13)} serves Jaeger's placeholder page, not its UI (the query API works): ${
          existsSync(join(jaegerUi.dir, 'index.html'))
            ? 'it was started without the UI; `node scripts/infra.ts down`, then `npm start` again'
            : `the UI did not build, see ${jaegerUi.buildLog}`
        }`
      : ''
  }
  ${'issuer'.padEnd(13)} ${auth.issuer.issuer}   ${auth.issuer.issuer}/.well-known/openid-configuration

Bearer tokens (valid ${tokenLifetimeS / 3600} h; the issuer's key is kept in .cache/dev-issuer/):
${(
  await Promise.all(
    seedData.students.map(
      async (student) =>
        `  export TOKEN_${tokenName(student.name)}=${await auth.issuer.student(student.id, { expiresIn: tokenLifetimeS })}`,
    ),
  )
).join('\n')}
  export TOKEN_STAFF=${auth.staff.authorization?.replace('Bearer ', '')}

Rent an instrument as Ada:
  curl -si -X POST ${services.rentals.url}/rentals -H "authorization: Bearer $TOKEN_ADA" -H 'content-type: application/json' \\
    -d '{"studentId":"8f5b1c2e-1d3a-4e5f-9a7b-0c1d2e3f4a01","instrumentId":"3c2d1e0f-5a6b-4c7d-8e9f-0a1b2c3d4e01","months":3}'
`);

/** `Björn Ek` -> BJORN: a shell variable's name for a student's token. */
function tokenName(name: string): string {
  return (name.split(' ')[0] ?? name)
    .normalize('NFD')
    .replace(/[^A-Za-z]/g, '')
    .toUpperCase();
}

/** What the running Jaeger serves (one started earlier by `node scripts/infra.ts up` has no UI). */
async function servesJaegerUi(queryUrl: string): Promise<boolean> {
  const page = await fetch(queryUrl).then(
    (response) => response.text(),
    () => '',
  );
  return page.includes('<title>Jaeger UI</title>');
}

/** Seed data through the services' own APIs; an id that exists already is left as it is. */
async function seed(data: Seed): Promise<void> {
  const put = async (service: ServiceProcess, method: string, path: string, body: unknown) => {
    const response = await fetch(`${service.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...auth.staff },
      body: JSON.stringify(body),
    });
    if (response.status >= 400 && response.status !== 409) {
      throw new Error(
        `seeding ${method} ${service.name}${path}: ${response.status} ${await response.text()}`,
      );
    }
  };
  for (const { paymentMethod, ...student } of data.students) {
    await put(services.students, 'POST', '/students', student);
    await put(services.billing, 'PUT', `/accounts/${student.id}`, { paymentMethod });
  }
  for (const instrument of data.instruments)
    await put(services.inventory, 'POST', '/instruments', instrument);
  console.log(`seeded ${data.students.length} students and ${data.instruments.length} instruments`);
}
