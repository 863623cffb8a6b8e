import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { events } from '../../events/catalog/dist/index.js';
import { composeContract, composeContractFile, composeContractJson } from '../compose/knative-contract.ts';
import { sourceDir } from '../infra/knative.ts';
import {
  consistencyErrors,
  containerContracts,
  contractErrors,
  dataPlaneManifestErrors,
  knativeErrors,
  loadCompose,
  schemaErrors,
  serviceEnvironment,
  soundgoodErrors,
} from './compose.js';
import { parseDockerfile } from './dockerfile.js';
import { repoRoot } from './tools.js';

const fixtures = join(import.meta.dirname, 'fixtures');

/** The data plane's Deployment and StatefulSet of the release, from its source beside the repository. */
function releaseManifests(): Record<'receiver' | 'dispatcher', string> {
  const version = 'knative-v1.23.0';
  const tarball = join(sourceDir, `eventing-kafka-broker-${version}.tar.gz`);
  const read = (file: string) =>
    execFileSync(
      'tar',
      ['-xzOf', tarball, `eventing-kafka-broker-${version}/data-plane/config/broker/${file}`],
      {
        encoding: 'utf8',
      },
    );
  return { receiver: read('500-receiver.yaml'), dispatcher: read('500-dispatcher.yaml') };
}
const compose = loadCompose(join(repoRoot, 'docker-compose.yml'));
const contract = composeContract();
const brokerPath = contract.resources[0].ingress.path;
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

  it('runs the five services with their ports, images, migrations, own databases, through the broker', () => {
    expect(soundgoodErrors(compose, brokerPath)).toEqual([]);
  });

  it("runs Knative's receiver and dispatcher of the release on the contract generated from the catalog", () => {
    expect(knativeErrors(compose, repoRoot, composeContractFile, contract)).toEqual([]);
  });

  it("gives the receiver and dispatcher the environment and mounts of the release's own manifests", () => {
    expect(dataPlaneManifestErrors(compose, releaseManifests())).toEqual([]);
  });

  it("ticks the school's day with the catalog's event, to the broker, as the PingSource does in a cluster", () => {
    const clock = compose.services?.['school-clock'];
    expect(clock, 'a school-clock service').toBeDefined();
    const environment = serviceEnvironment(clock as NonNullable<typeof clock>);
    expect(environment).toMatchObject({
      K_SINK: `http://kafka-broker-receiver:8080${brokerPath}`,
      TICK_TYPE: events.schoolDayStarted.type,
      TICK_SOURCE: events.schoolDayStarted.source,
      SCHOOL_TIME_ZONE: 'Europe/Stockholm',
    });
    const rentals = serviceEnvironment(compose.services?.rentals as NonNullable<typeof clock>);
    expect(environment.SCHOOL_TIME_ZONE).toBe(rentals.SCHOOL_TIME_ZONE ?? 'Europe/Stockholm');
  });

  it('runs the development issuer, and every API service trusts it and waits until it serves its keys', () => {
    const issuer = compose.services?.issuer;
    expect(issuer, 'an issuer service').toBeDefined();
    const own = serviceEnvironment(issuer as NonNullable<typeof issuer>);
    expect((issuer as { command?: string[] }).command).toEqual([
      'node',
      'events/runtime/dist/auth/dev-issuer.cli.js',
      'serve',
    ]);
    expect(own.DEV_ISSUER_URL).toBe(`http://issuer:${own.DEV_ISSUER_PORT}`);
    for (const name of ['rentals', 'students', 'inventory', 'billing', 'notifications']) {
      const service = compose.services?.[name] as NonNullable<typeof issuer>;
      const environment = serviceEnvironment(service);
      // The issuer the services verify against is the one that signs: its URL is the tokens' iss.
      expect(environment.OIDC_ISSUER, name).toBe(own.DEV_ISSUER_URL);
      expect(environment.OIDC_AUDIENCE, name).toBe('soundgood');
      expect(
        (service as { depends_on?: Record<string, { condition: string }> }).depends_on?.issuer,
        name,
      ).toEqual({
        condition: 'service_healthy',
      });
    }
  });

  it('mounts the contract the catalog generates (node scripts/compose/knative-contract.ts rewrites it)', () => {
    expect(readFileSync(composeContractFile, 'utf8')).toBe(composeContractJson());
  });

  it("keeps the data plane's config files as the release's ConfigMaps have them, but for the offset reset", () => {
    const upstream = join(sourceDir, 'config');
    const settings = (file: string) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '' && !line.startsWith('#') && !line.startsWith('host='));
    for (const name of ['producer', 'consumer', 'webclient', 'httpserver']) {
      const file = `config-kafka-broker-${name}.properties`;
      const ours = settings(join(repoRoot, 'scripts', 'compose', 'knative', 'config', file));
      const theirs = settings(join(upstream, file)).map((line) =>
        line === 'auto.offset.reset=latest' ? 'auto.offset.reset=earliest' : line,
      );
      expect(ours, file).toEqual(theirs);
    }
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
    expect(soundgoodErrors(broken, brokerPath)).toEqual(
      expect.arrayContaining([
        'postgres: must publish host port 5432',
        'students: missing',
        'rentals: must build services/Dockerfile, target runtime, with SERVICE=rentals',
        'rentals: image ghcr.io/acme/rentals:local is not ghcr.io/soundgood/rentals',
        'rentals: must publish host port 3000 to its PORT (8080)',
        'rentals: EVENT_TRANSPORT must be knative under compose (events go through the broker)',
        "rentals: K_SINK http://kafka-broker-receiver:8080/soundgood/dead-letters is not the broker's ingress http://kafka-broker-receiver:8080/soundgood/default",
        'rentals: must wait for kafka-broker-receiver to be healthy',
        'rentals: must wait for kafka-broker-dispatcher to be healthy',
        'rentals: OTEL_SERVICE_NAME must be rentals',
        'rentals: DATABASE_URL points at db, not at a compose service',
        'rentals: OTEL_EXPORTER_OTLP_ENDPOINT points at collector, not at a compose service',
        "rentals: DATABASE_URL must name its own database (rentals), created by postgres's init script",
        'migrate-rentals: migrates a different DATABASE_URL than rentals uses',
        'rentals: must wait for migrate-rentals to complete successfully',
        'rentals: must run with a read-only root filesystem and a tmpfs on /tmp, as in Kubernetes',
      ]),
    );
  });

  it('reports a data plane of another release, off the generated contract, and a contract compose cannot serve', () => {
    const broken = loadCompose(join(fixtures, 'compose', 'soundgood-broken.yml'));
    const [brokerResource, sink] = structuredClone(contract).resources;
    const [first, second] = brokerResource.egresses;
    if (!first || !second) throw new Error('the contract has fewer than two egresses');
    first.destination = 'http://billing-v2:8080/events';
    second.destination = 'http://rentals:9999/';
    second.egressConfig = {
      ...second.egressConfig,
      deadLetter: 'http://elsewhere:8080/soundgood/dead-letters',
    };
    brokerResource.topics = ['knative-broker-soundgood-default'];
    brokerResource.bootstrapServers = 'kafka:9093';
    const dir = join(fixtures, 'compose');
    const errors = knativeErrors(broken, dir, composeContractFile, {
      generation: '1',
      resources: [brokerResource, sink],
    });
    expect(errors).toEqual(
      expect.arrayContaining([
        'kafka-broker-receiver: image gcr.io/knative-releases/knative-kafka-broker-receiver-loom:v1.22.0 is not gcr.io/knative-releases/knative-kafka-broker-receiver-loom:v1.23.0',
        `kafka-broker-receiver: DATA_PLANE_CONFIG_FILE_PATH /etc/brokers-triggers/data is not the generated contract ${composeContractFile}`,
        'kafka-broker-receiver: the tracing-endpoint of CONFIG_OBSERVABILITY_PATH does not point at jaeger',
        'kafka-broker-receiver: must run with a read-only root filesystem and a tmpfs on /tmp, as in Kubernetes',
        'kafka-broker-dispatcher: missing',
        'contract: topic knative-broker-soundgood-default is not created by kafka-init',
        'contract: bootstrapServers kafka:9093 is not an advertised listener of kafka',
        `contract: ${first.consumerGroup} delivers to billing-v2, not to a Soundgood service`,
        `contract: ${second.consumerGroup} delivers to http://rentals:9999/, not to its /events on PORT`,
        `contract: ${second.consumerGroup} dead-letters to http://elsewhere:8080/soundgood/dead-letters, not to a sink of http://kafka-broker-receiver:8080`,
      ]),
    );
  });

  it("reports data plane containers that differ from the release's manifests", () => {
    const broken = structuredClone(compose);
    const receiver = broken.services['kafka-broker-receiver'] as { environment: Record<string, string> };
    const dispatcher = broken.services['kafka-broker-dispatcher'] as { volumes: string[] };
    delete receiver.environment.READINESS_PROBE_PATH;
    receiver.environment.INGRESS_PORT = '9090';
    receiver.environment.CONFIG_DEBUG = 'true';
    dispatcher.volumes = dispatcher.volumes.filter((volume) => !volume.endsWith(':/etc/logging:ro'));
    expect(dataPlaneManifestErrors(broken, releaseManifests())).toEqual([
      "kafka-broker-receiver: INGRESS_PORT is 9090, the release's pod has 8080",
      "kafka-broker-receiver: READINESS_PROBE_PATH is not set (the release's pod sets it)",
      "kafka-broker-receiver: CONFIG_DEBUG is not a variable of the release's pod",
      "kafka-broker-dispatcher: nothing is mounted at /etc/logging (the release's pod mounts it)",
    ]);
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
