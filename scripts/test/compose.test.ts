import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  consistencyErrors,
  containerContracts,
  contractErrors,
  loadCompose,
  schemaErrors,
  soundgoodErrors,
} from './compose.js';
import { parseDockerfile } from './dockerfile.js';
import { repoRoot } from './tools.js';

const fixtures = join(import.meta.dirname, 'fixtures');
const compose = loadCompose(join(repoRoot, 'docker-compose.yml'));
const imageUser = Number(
  parseDockerfile(readFileSync(join(repoRoot, 'services', 'Dockerfile'), 'utf8'))
    .at(-1)
    ?.instructions.filter((i) => i.keyword === 'USER')
    .at(-1)
    ?.args.split(':')[0],
);

describe('docker-compose.yml', () => {
  it('is valid against the Compose Specification schema', () => {
    expect(schemaErrors(compose)).toEqual([]);
  });

  it('gives every long-running service a healthcheck and waits on conditions, with pinned images', () => {
    expect(consistencyErrors(compose)).toEqual([]);
  });

  it('runs the five services with their ports, images, migrations, topics and own databases', () => {
    expect(soundgoodErrors(compose)).toEqual([]);
  });

  it('runs the same image, ports, user, command and filesystem as the Kubernetes Deployments', () => {
    const contracts = containerContracts(join(repoRoot, 'k8s', 'base'));
    const fromManifests = Object.values(contracts).filter((contract) => contract.source !== 'conventions');
    expect(fromManifests).toHaveLength(Object.keys(contracts).length);
    expect(contractErrors(compose, contracts, imageUser)).toEqual([]);
  });
});

describe('the compose checks on broken fixtures', () => {
  it('reports schema violations, including a healthcheck list item YAML read as a mapping', () => {
    const errors = schemaErrors(loadCompose(join(fixtures, 'compose', 'schema-invalid.yml')));
    expect(errors).toEqual(
      expect.arrayContaining([
        '/services/api/healthcheck/test/3 must be string',
        "/services/api/depends_on/db must have required property 'condition'",
        '/services/db/healthcheck must NOT have additional properties',
        '/services/web/ports/0 must NOT have additional properties',
      ]),
    );
  });

  it('reports missing healthchecks, bare dependencies, unpinned images, open ports and cycles', () => {
    const broken = loadCompose(join(fixtures, 'compose', 'inconsistent.yml'));
    expect(schemaErrors(broken)).toEqual([]);
    expect(consistencyErrors(broken)).toEqual(
      expect.arrayContaining([
        'db: has no healthcheck',
        'api: depends_on must use the long form with a condition',
        'api: depends on db without a condition',
        'api: image example/api:latest is not pinned to a version or digest',
        'api: port 8080 is published on every interface; bind it to 127.0.0.1',
        'worker: waits for db to be healthy, but db has no healthcheck',
        'worker: waits only for api to start; wait for service_healthy instead',
        'worker: depends on queue, which is not a service',
        'migrate: a one-shot job must set restart: "no"',
        'dependency cycle: ping -> pong -> ping',
      ]),
    );
  });

  it('reports a Soundgood service wired to the wrong image, port, broker, topic, database and migration', () => {
    const broken = loadCompose(join(fixtures, 'compose', 'soundgood-broken.yml'));
    expect(soundgoodErrors(broken)).toEqual(
      expect.arrayContaining([
        'postgres: must publish host port 5432',
        'students: missing',
        'rentals: must build services/Dockerfile, target runtime, with SERVICE=rentals',
        'rentals: image ghcr.io/acme/rentals:local is not ghcr.io/soundgood/rentals',
        'rentals: must publish host port 3000 to its PORT (8080)',
        'rentals: EVENT_TRANSPORT must be kafka under compose',
        'rentals: OTEL_SERVICE_NAME must be rentals',
        'rentals: KAFKA_BROKERS kafka:9093 is not an advertised listener of kafka',
        'rentals: KAFKA_DEAD_LETTER_TOPIC soundgood.dead-letters is not created by kafka-init',
        'rentals: DATABASE_URL points at db, not at a compose service',
        'rentals: OTEL_EXPORTER_OTLP_ENDPOINT points at collector, not at a compose service',
        "rentals: DATABASE_URL must name its own database (rentals), created by postgres's init script",
        'migrate-rentals: migrates a different DATABASE_URL than rentals uses',
        'rentals: must wait for migrate-rentals to complete successfully',
        'rentals: must run with a read-only root filesystem and a tmpfs on /tmp, as in Kubernetes',
      ]),
    );
  });

  it('reports every difference from a Kubernetes Deployment that disagrees with compose', () => {
    const contracts = containerContracts(join(fixtures, 'k8s', 'base'));
    expect(contracts.rentals?.source).toBe(join(fixtures, 'k8s', 'base', 'rentals.yaml'));
    expect(contracts.students?.source).toBe('conventions');
    const from = `(${contracts.rentals?.source})`;
    expect(contractErrors(compose, contracts, imageUser)).toEqual([
      `rentals: compose image ghcr.io/soundgood/rentals:local is not ghcr.io/acme/rentals ${from}`,
      `rentals: PORT 8080 is not the http port 3000 ${from}`,
      `rentals: METRICS_PORT 9464 is not the http-metrics port 9090 ${from}`,
      `rentals: the image runs as 1000, not as user 2000 ${from}`,
      `rentals: command ["node","--import","@soundgood/eventing/register","services/rentals/dist/main.js"] is not ["node","dist/main.js"] ${from}`,
      `rentals: read_only differs from readOnlyRootFilesystem ${from}`,
    ]);
  });
});
