// `npm start`: Soundgood without Docker. Local Kafka and PostgreSQL (scripts/infra.ts), one
// database per service with its migrations applied, seed data, and the five services as separate
// processes on the kafka transport, their JSON logs prefixed with the service name. Ctrl-C stops all.
import { readFileSync } from 'node:fs';
import { prepareServiceDatabase } from '../prisma/dist/index.js';
import { down, up } from './infra.ts';
import { describeService, type ServiceProcess, serviceNames, startService, stopService } from './stack.ts';

interface Seed {
  students: { id: string; name: string; email: string; paymentMethod: string }[];
  instruments: { id: string; type: string; brand: string; monthlyFeeCents: number; currency: string }[];
}

const { state, startedNow } = await up();
const services = {} as Record<(typeof serviceNames)[number], ServiceProcess>;
for (const [i, name] of serviceNames.entries()) {
  const databaseUrl = await prepareServiceDatabase(state.DATABASE_URL, name);
  services[name] = describeService(name, 3000 + i, 9464 + i, {
    DATABASE_URL: databaseUrl,
    EVENT_TRANSPORT: 'kafka',
    KAFKA_BROKERS: state.KAFKA_BROKERS,
  });
}

let stopping = false;
async function stop(code: number): Promise<never> {
  stopping = true;
  await Promise.all(serviceNames.map((name) => stopService(services[name])));
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
  await seed(JSON.parse(readFileSync(new URL('./seed.json', import.meta.url), 'utf8')) as Seed);
} catch (error) {
  console.error(`start: ${(error as Error).message}`);
  await stop(1);
}

console.log(`
Soundgood is running (Ctrl-C stops it):
${serviceNames.map((name) => `  ${name.padEnd(13)} ${services[name].url}   metrics ${services[name].metricsUrl}`).join('\n')}
Rent an instrument:
  curl -si -X POST ${services.rentals.url}/rentals -H 'content-type: application/json' \\
    -d '{"studentId":"8f5b1c2e-1d3a-4e5f-9a7b-0c1d2e3f4a01","instrumentId":"3c2d1e0f-5a6b-4c7d-8e9f-0a1b2c3d4e01","months":3}'
`);

/** Seed data through the services' own APIs; an id that exists already is left as it is. */
async function seed(data: Seed): Promise<void> {
  const put = async (service: ServiceProcess, method: string, path: string, body: unknown) => {
    const response = await fetch(`${service.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
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
