// Reading docker-compose.yml the way Compose does (YAML merge keys, ${VAR:-default} interpolation),
// validating it against the Compose Specification schema, and the project's consistency rules.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { parse, parseAllDocuments } from 'yaml';
import type { KnativeContract } from '../../events/catalog/dist/index.js';

export type ComposeFile = {
  services: Record<string, ComposeService>;
  [key: string]: unknown;
};

export type ComposeService = {
  image?: string;
  build?: string | { context?: string; dockerfile?: string; target?: string; args?: Record<string, unknown> };
  environment?: Record<string, unknown> | string[];
  ports?: unknown[];
  healthcheck?: { test?: unknown; disable?: boolean };
  depends_on?: string[] | Record<string, { condition?: string }>;
  restart?: string;
  read_only?: boolean;
  tmpfs?: string | string[];
  [key: string]: unknown;
};

/** The five Soundgood services and the host port each publishes (the same as the no-Docker `npm start`). */
export const soundgoodServices = {
  rentals: 3000,
  students: 3001,
  inventory: 3002,
  billing: 3003,
  notifications: 3004,
} as const;

export const infrastructurePorts: Record<string, number> = {
  jaeger: 16686,
  kafka: 9092,
  postgres: 5432,
  'kafka-broker-receiver': 8080,
};

/** Knative's data plane under compose: its two services and the release their images must be of. */
export const dataPlane = {
  receiver: 'kafka-broker-receiver',
  dispatcher: 'kafka-broker-dispatcher',
  imageRepository: (role: 'receiver' | 'dispatcher') =>
    `gcr.io/knative-releases/knative-kafka-broker-${role}-loom`,
  /** The release of the data plane source the local broker is built from (../shared/knative). */
  tag: 'v1.23.0',
} as const;

/** The container contract shared with the Kubernetes manifests (k8s/base), used when those do not exist. */
export const containerConventions = {
  imageRepository: (service: string) => `ghcr.io/soundgood/${service}`,
  httpPort: 8080,
  metricsPort: 9464,
  user: 1000,
  readOnlyRootFilesystem: true,
  command: (service: string) => [
    'node',
    '--import',
    '@soundgood/eventing/register',
    `services/${service}/dist/main.js`,
  ],
};

export function loadCompose(file: string): ComposeFile {
  return parse(readFileSync(file, 'utf8'), { merge: true }) as ComposeFile;
}

const schema = JSON.parse(readFileSync(join(import.meta.dirname, 'schemas', 'compose-spec.json'), 'utf8'));
// The schema names its draft-07 meta-schema by an https URL Ajv does not register, and uses the
// non-standard `deprecated` keyword: skip meta-validation and strict mode, not the validation itself.
const validateSchema = new Ajv({ allErrors: true, strict: false, validateSchema: false }).compile(schema);

/** Compose Specification schema errors, as "<path> <message>" lines. */
export function schemaErrors(compose: unknown): string[] {
  if (validateSchema(compose)) return [];
  return (validateSchema.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message}`);
}

/** Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR-default} and $$, with `env` as the shell. */
export function interpolate(value: string, env: Record<string, string> = {}): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g,
    (match, name, operator, fallback) => {
      if (match === '$$') return '$';
      const set = env[name];
      if (operator === ':-') return set ? set : fallback;
      if (operator === '-') return set ?? fallback;
      return set ?? '';
    },
  );
}

/** A service's environment as the container sees it, interpolated. */
export function serviceEnvironment(
  service: ComposeService,
  env: Record<string, string> = {},
): Record<string, string> {
  const raw = service.environment ?? {};
  const entries = Array.isArray(raw)
    ? raw.map((line) => {
        const [key = '', ...rest] = line.split('=');
        return [key, rest.join('=')] as const;
      })
    : Object.entries(raw).map(([key, value]) => [key, value === null ? '' : String(value)] as const);
  return Object.fromEntries(entries.map(([key, value]) => [key, interpolate(value, env)]));
}

/**
 * An image reference pinned to a digest or to a release number with at least a minor part (x.y or
 * x.y.z, optionally with a variant suffix): PostgreSQL's releases are x.y. Major-only and floating
 * tags (`24`, `latest`, `bookworm`) are rejected.
 */
export function isPinnedImage(image: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  const tag = image.match(/:([^:/@]+)$/)?.[1];
  return tag !== undefined && /^v?\d+\.\d+(\.\d+)?(-[0-9A-Za-z.-]+)?$/.test(tag);
}

function dependencies(service: ComposeService): Record<string, { condition?: string }> {
  const dependsOn = service.depends_on;
  if (!dependsOn) return {};
  if (Array.isArray(dependsOn)) return Object.fromEntries(dependsOn.map((name) => [name, {}]));
  return dependsOn;
}

/** Services others wait for with service_completed_successfully: jobs that run once and exit. */
export function oneShotServices(compose: ComposeFile): Set<string> {
  const oneShots = new Set<string>();
  for (const service of Object.values(compose.services)) {
    for (const [name, dependency] of Object.entries(dependencies(service))) {
      if (dependency.condition === 'service_completed_successfully') oneShots.add(name);
    }
  }
  return oneShots;
}

type PortMapping = { hostIp?: string; published?: number; target: number };

export function portMappings(service: ComposeService): PortMapping[] {
  return (service.ports ?? []).map((port) => {
    if (typeof port === 'number') return { target: port };
    if (typeof port === 'string') {
      const parts = port.replace(/\/(tcp|udp)$/, '').split(':');
      const target = Number(parts.pop());
      const published = parts.length > 0 ? Number(parts.pop()) : undefined;
      const hostIp = parts.length > 0 ? parts.join(':') : undefined;
      return { hostIp, published, target };
    }
    const long = port as { host_ip?: string; published?: string | number; target: string | number };
    return {
      hostIp: long.host_ip,
      published: long.published === undefined ? undefined : Number(long.published),
      target: Number(long.target),
    };
  });
}

function hasHealthcheck(service: ComposeService): boolean {
  const check = service.healthcheck;
  return (
    check !== undefined &&
    check.disable !== true &&
    check.test !== undefined &&
    !String(check.test).startsWith('NONE')
  );
}

/** The general rules: healthchecks, dependency conditions, pinned images, published ports. */
export function consistencyErrors(compose: ComposeFile): string[] {
  const errors: string[] = [];
  const services = compose.services ?? {};
  const oneShots = oneShotServices(compose);

  for (const [name, service] of Object.entries(services)) {
    if (oneShots.has(name)) {
      if (service.restart !== 'no') errors.push(`${name}: a one-shot job must set restart: "no"`);
    } else if (!hasHealthcheck(service)) {
      errors.push(`${name}: has no healthcheck`);
    }
    if (Array.isArray(service.depends_on)) {
      errors.push(`${name}: depends_on must use the long form with a condition`);
    }
    for (const [dependency, { condition }] of Object.entries(dependencies(service))) {
      const target = services[dependency];
      if (!target) {
        errors.push(`${name}: depends on ${dependency}, which is not a service`);
      } else if (!condition) {
        errors.push(`${name}: depends on ${dependency} without a condition`);
      } else if (condition === 'service_healthy' && !hasHealthcheck(target)) {
        errors.push(`${name}: waits for ${dependency} to be healthy, but ${dependency} has no healthcheck`);
      } else if (condition === 'service_started') {
        errors.push(`${name}: waits only for ${dependency} to start; wait for service_healthy instead`);
      }
    }
    if (service.build === undefined) {
      if (!service.image) errors.push(`${name}: has neither image nor build`);
      else if (!isPinnedImage(service.image))
        errors.push(`${name}: image ${service.image} is not pinned to a version or digest`);
    }
    for (const port of portMappings(service)) {
      if (port.published !== undefined && port.hostIp !== '127.0.0.1') {
        errors.push(`${name}: port ${port.published} is published on every interface; bind it to 127.0.0.1`);
      }
    }
  }
  errors.push(...dependencyCycles(services));
  return errors;
}

function dependencyCycles(services: Record<string, ComposeService>): string[] {
  const state = new Map<string, 'visiting' | 'done'>();
  const errors: string[] = [];
  const visit = (name: string, path: string[]): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      errors.push(`dependency cycle: ${[...path, name].join(' -> ')}`);
      return;
    }
    state.set(name, 'visiting');
    for (const dependency of Object.keys(dependencies(services[name] ?? {})))
      visit(dependency, [...path, name]);
    state.set(name, 'done');
  };
  for (const name of Object.keys(services)) visit(name, []);
  return errors;
}

function hostAndPort(address: string): { host: string; port: number } {
  const url = new URL(address.includes('://') ? address : `tcp://${address}`);
  return { host: url.hostname, port: Number(url.port) };
}

/** Soundgood's own rules: the five services, their images, ports, migrations, broker and databases. */
export function soundgoodErrors(compose: ComposeFile, brokerPath: string): string[] {
  const errors: string[] = [];
  const services = compose.services ?? {};
  const postgresDatabases = (serviceEnvironment(services.postgres ?? {}).SOUNDGOOD_DATABASES ?? '').split(
    /\s+/,
  );
  const receiverPort = serviceEnvironment(services[dataPlane.receiver] ?? {}).INGRESS_PORT;

  for (const [name, port] of Object.entries(infrastructurePorts)) {
    if (!portMappings(services[name] ?? {}).some((mapping) => mapping.published === port)) {
      errors.push(`${name}: must publish host port ${port}`);
    }
  }

  for (const [name, hostPort] of Object.entries(soundgoodServices)) {
    const service = services[name];
    if (!service) {
      errors.push(`${name}: missing`);
      continue;
    }
    const env = serviceEnvironment(service);
    const build = typeof service.build === 'object' ? service.build : {};
    if (
      build.dockerfile !== 'services/Dockerfile' ||
      build.target !== 'runtime' ||
      build.args?.SERVICE !== name
    ) {
      errors.push(`${name}: must build services/Dockerfile, target runtime, with SERVICE=${name}`);
    }
    const repository = service.image?.replace(/[:@].*$/, '');
    if (repository !== containerConventions.imageRepository(name)) {
      errors.push(`${name}: image ${service.image} is not ${containerConventions.imageRepository(name)}`);
    }
    if (
      !portMappings(service).some((port) => port.published === hostPort && port.target === Number(env.PORT))
    ) {
      errors.push(`${name}: must publish host port ${hostPort} to its PORT (${env.PORT})`);
    }
    if (env.EVENT_TRANSPORT !== 'knative') {
      errors.push(`${name}: EVENT_TRANSPORT must be knative under compose (events go through the broker)`);
    }
    const ingress = `http://${dataPlane.receiver}:${receiverPort}${brokerPath}`;
    if (env.K_SINK !== ingress)
      errors.push(`${name}: K_SINK ${env.K_SINK} is not the broker's ingress ${ingress}`);
    for (const part of [dataPlane.receiver, dataPlane.dispatcher]) {
      if (dependencies(service)[part]?.condition !== 'service_healthy')
        errors.push(`${name}: must wait for ${part} to be healthy`);
    }
    if (env.OTEL_SERVICE_NAME !== name) errors.push(`${name}: OTEL_SERVICE_NAME must be ${name}`);
    for (const variable of ['DATABASE_URL', 'OTEL_EXPORTER_OTLP_ENDPOINT']) {
      const host = env[variable] ? hostAndPort(env[variable]).host : '';
      if (!services[host])
        errors.push(`${name}: ${variable} points at ${host || 'nothing'}, not at a compose service`);
    }
    const database = env.DATABASE_URL ? new URL(env.DATABASE_URL).pathname.slice(1) : '';
    if (database !== name || !postgresDatabases.includes(database)) {
      errors.push(
        `${name}: DATABASE_URL must name its own database (${name}), created by postgres's init script`,
      );
    }

    const migrate = services[`migrate-${name}`];
    const migrateBuild = typeof migrate?.build === 'object' ? migrate.build : {};
    if (!migrate || migrateBuild.target !== 'migrate' || migrateBuild.args?.SERVICE !== name) {
      errors.push(`${name}: needs migrate-${name}, built from target migrate with SERVICE=${name}`);
    } else if (serviceEnvironment(migrate).DATABASE_URL !== env.DATABASE_URL) {
      errors.push(`migrate-${name}: migrates a different DATABASE_URL than ${name} uses`);
    }
    if (dependencies(service)[`migrate-${name}`]?.condition !== 'service_completed_successfully') {
      errors.push(`${name}: must wait for migrate-${name} to complete successfully`);
    }
    if (service.read_only !== true || ![service.tmpfs].flat().includes('/tmp')) {
      errors.push(`${name}: must run with a read-only root filesystem and a tmpfs on /tmp, as in Kubernetes`);
    }
  }
  return errors;
}

export type ContainerContract = {
  source: string;
  imageRepository: string;
  httpPort: number;
  metricsPort: number;
  user: number;
  readOnlyRootFilesystem: boolean;
  command: string[];
};

type K8sObject = {
  kind?: string;
  metadata?: { name?: string };
  spec?: {
    template?: {
      spec?: {
        securityContext?: { runAsUser?: number };
        containers?: {
          image?: string;
          command?: string[];
          ports?: { name?: string; containerPort?: number }[];
          securityContext?: { runAsUser?: number; readOnlyRootFilesystem?: boolean };
        }[];
      };
    };
  };
};

function yamlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(entry) ? [path] : [];
  });
}

/**
 * Each service's container contract from its Deployment in `k8sBase`, or from the shared conventions
 * for services that have no Deployment there yet.
 */
export function containerContracts(k8sBase: string): Record<string, ContainerContract> {
  const deployments = new Map<string, { file: string; object: K8sObject }>();
  for (const file of yamlFiles(k8sBase)) {
    for (const document of parseAllDocuments(readFileSync(file, 'utf8'))) {
      const object = document.toJS() as K8sObject | null;
      const name = object?.metadata?.name;
      if (object?.kind === 'Deployment' && name && name in soundgoodServices)
        deployments.set(name, { file, object });
    }
  }
  return Object.fromEntries(
    Object.keys(soundgoodServices).map((name) => {
      const deployment = deployments.get(name);
      if (!deployment) {
        const contract: ContainerContract = {
          ...containerConventions,
          source: 'conventions',
          imageRepository: containerConventions.imageRepository(name),
          command: containerConventions.command(name),
        };
        return [name, contract];
      }
      const pod = deployment.object.spec?.template?.spec;
      const container = pod?.containers?.[0];
      const port = (portName: string) =>
        container?.ports?.find((p) => p.name === portName)?.containerPort ?? Number.NaN;
      return [
        name,
        {
          source: deployment.file,
          imageRepository: (container?.image ?? '').replace(/[:@].*$/, ''),
          httpPort: port('http'),
          metricsPort: port('http-metrics'),
          user: container?.securityContext?.runAsUser ?? pod?.securityContext?.runAsUser ?? Number.NaN,
          readOnlyRootFilesystem: container?.securityContext?.readOnlyRootFilesystem === true,
          command: container?.command ?? [],
        },
      ];
    }),
  );
}

/** Differences between what compose runs and what Kubernetes runs, for the same image. */
export function contractErrors(
  compose: ComposeFile,
  contracts: Record<string, ContainerContract>,
  imageUser: number,
): string[] {
  const errors: string[] = [];
  for (const [name, contract] of Object.entries(contracts)) {
    const service = compose.services[name];
    if (!service) {
      errors.push(`${name}: missing from compose`);
      continue;
    }
    const env = serviceEnvironment(service);
    const from = `(${contract.source})`;
    if (service.image?.replace(/[:@].*$/, '') !== contract.imageRepository) {
      errors.push(`${name}: compose image ${service.image} is not ${contract.imageRepository} ${from}`);
    }
    if (Number(env.PORT) !== contract.httpPort)
      errors.push(`${name}: PORT ${env.PORT} is not the http port ${contract.httpPort} ${from}`);
    if (Number(env.METRICS_PORT) !== contract.metricsPort) {
      errors.push(
        `${name}: METRICS_PORT ${env.METRICS_PORT} is not the http-metrics port ${contract.metricsPort} ${from}`,
      );
    }
    if (imageUser !== contract.user)
      errors.push(`${name}: the image runs as ${imageUser}, not as user ${contract.user} ${from}`);
    if (JSON.stringify(service.command) !== JSON.stringify(contract.command)) {
      errors.push(
        `${name}: command ${JSON.stringify(service.command)} is not ${JSON.stringify(contract.command)} ${from}`,
      );
    }
    if ((service.read_only === true) !== contract.readOnlyRootFilesystem) {
      errors.push(`${name}: read_only differs from readOnlyRootFilesystem ${from}`);
    }
  }
  return errors;
}

/** The part of a zod object schema the environment check uses (services/<service>/dist/config.js). */
export type ConfigSchema = {
  shape?: Record<string, unknown>;
  safeParse(env: Record<string, string>): {
    success: boolean;
    error?: { issues: { path: PropertyKey[]; message: string }[] };
  };
};

/**
 * Why `env` would not start the service: its config schema's own messages, plus variables the schema
 * does not know (a typo there silently falls back to a default). OTEL_* are read by the OpenTelemetry
 * SDK itself, so they may be set without being in the schema.
 */
export function configErrors(schema: ConfigSchema, env: Record<string, string>): string[] {
  const result = schema.safeParse(env);
  const errors = (result.error?.issues ?? []).map(
    (issue) => `${issue.path.map(String).join('.')}: ${issue.message}`,
  );
  const known = new Set(Object.keys(schema.shape ?? {}));
  for (const name of Object.keys(env)) {
    if (!known.has(name) && !name.startsWith('OTEL_')) errors.push(`${name}: not a variable of this service`);
  }
  return errors;
}

/** Where a bind mount's host path (relative to the compose file) is mounted, by target. */
function bindMounts(service: ComposeService, baseDir: string): Map<string, string> {
  const mounts = new Map<string, string>();
  for (const volume of (service.volumes as unknown[] | undefined) ?? []) {
    const [source, target] =
      typeof volume === 'string'
        ? volume.split(':')
        : [(volume as { source?: string }).source, (volume as { target?: string }).target];
    if (source?.startsWith('.') && target) mounts.set(target, join(baseDir, source));
  }
  return mounts;
}

/**
 * The broker under compose against its contract: both data plane services run the release's images
 * on the contract file (`contractFile`, the one that is checked against the catalog), every egress
 * delivers to a compose service's /events on its PORT, dead letters go to the receiver, the topics
 * exist, Kafka is reached on an advertised listener, and the data plane's traces go to jaeger.
 */
export function knativeErrors(
  compose: ComposeFile,
  baseDir: string,
  contractFile: string,
  contract: KnativeContract,
): string[] {
  const errors: string[] = [];
  const services = compose.services ?? {};
  const topics = (serviceEnvironment(services['kafka-init'] ?? {}).KAFKA_TOPICS ?? '').split(/\s+/);
  const kafkaListeners = serviceEnvironment(services.kafka ?? {}).KAFKA_ADVERTISED_LISTENERS ?? '';
  const receiverEnv = serviceEnvironment(services[dataPlane.receiver] ?? {});

  for (const role of ['receiver', 'dispatcher'] as const) {
    const name = dataPlane[role];
    const service = services[name];
    if (!service) {
      errors.push(`${name}: missing`);
      continue;
    }
    const image = service.image ?? '';
    const repository = image.replace(/[:@].*$/, '');
    const tag = /:([^@/]+)(@|$)/.exec(image.slice(repository.length))?.[1];
    if (repository !== dataPlane.imageRepository(role) || tag !== dataPlane.tag) {
      errors.push(`${name}: image ${image} is not ${dataPlane.imageRepository(role)}:${dataPlane.tag}`);
    }
    const env = serviceEnvironment(service);
    const mounts = bindMounts(service, baseDir);
    const mountedContract = mounts.get(env.DATA_PLANE_CONFIG_FILE_PATH ?? '');
    if (mountedContract !== contractFile) {
      errors.push(
        `${name}: DATA_PLANE_CONFIG_FILE_PATH ${env.DATA_PLANE_CONFIG_FILE_PATH} is not the generated contract ${contractFile}`,
      );
    }
    const observability = mounts.get(env.CONFIG_OBSERVABILITY_PATH ?? '');
    const endpoint = observability ? readIfExists(join(observability, 'tracing-endpoint')).trim() : '';
    if (!endpoint || hostAndPort(endpoint).host !== 'jaeger') {
      errors.push(`${name}: the tracing-endpoint of CONFIG_OBSERVABILITY_PATH does not point at jaeger`);
    }
    if (service.read_only !== true || ![service.tmpfs].flat().includes('/tmp')) {
      errors.push(`${name}: must run with a read-only root filesystem and a tmpfs on /tmp, as in Kubernetes`);
    }
  }

  const receiverUrl = `http://${dataPlane.receiver}:${receiverEnv.INGRESS_PORT}`;
  const ingressPaths = contract.resources.map((resource) => resource.ingress.path);
  for (const resource of contract.resources) {
    for (const topic of resource.topics) {
      if (!topics.includes(topic)) errors.push(`contract: topic ${topic} is not created by kafka-init`);
    }
    if (!kafkaListeners.split(',').some((listener) => listener.endsWith(`//${resource.bootstrapServers}`))) {
      errors.push(
        `contract: bootstrapServers ${resource.bootstrapServers} is not an advertised listener of kafka`,
      );
    }
    for (const egress of resource.egresses ?? []) {
      const url = new URL(egress.destination);
      const subscriber = services[url.hostname];
      if (!subscriber || !(url.hostname in soundgoodServices)) {
        errors.push(
          `contract: ${egress.consumerGroup} delivers to ${url.hostname}, not to a Soundgood service`,
        );
      } else if (
        Number(url.port) !== Number(serviceEnvironment(subscriber).PORT) ||
        url.pathname !== '/events'
      ) {
        errors.push(
          `contract: ${egress.consumerGroup} delivers to ${egress.destination}, not to its /events on PORT`,
        );
      }
      const deadLetter = egress.egressConfig.deadLetter;
      if (
        !deadLetter.startsWith(receiverUrl) ||
        !ingressPaths.includes(deadLetter.slice(receiverUrl.length))
      ) {
        errors.push(
          `contract: ${egress.consumerGroup} dead-letters to ${deadLetter}, not to a sink of ${receiverUrl}`,
        );
      }
    }
  }
  return errors;
}

function readIfExists(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

/** Variables the compose data plane sets beyond the release's: the Kubernetes couplings, switched off. */
export const dataPlaneLocalVariables = [
  'KUBERNETES_MASTER',
  'KUBERNETES_AUTH_TRYKUBECONFIG',
  'KUBERNETES_AUTH_TRYSERVICEACCOUNT',
  'KUBERNETES_NAMESPACE',
];

type ManifestContainer = {
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  volumeMounts?: { mountPath: string }[];
};

/**
 * The data plane containers against the release's own manifests (data-plane/config/broker/
 * 500-receiver.yaml and 500-dispatcher.yaml, given as text): every variable the pod sets is set, to
 * the same value where the manifest has a literal (JAVA_TOOL_OPTIONS may add flags), nothing else but
 * the switched-off couplings; every mount of the pod is there (a file mounted inside a mounted
 * directory counts, /tmp is the tmpfs), except the TLS secret, which compose has none of.
 */
export function dataPlaneManifestErrors(
  compose: ComposeFile,
  manifests: Record<'receiver' | 'dispatcher', string>,
): string[] {
  const errors: string[] = [];
  for (const role of ['receiver', 'dispatcher'] as const) {
    const name = dataPlane[role];
    const service = compose.services[name] ?? {};
    const workload = parseAllDocuments(manifests[role])
      .map(
        (document) =>
          document.toJS() as {
            kind?: string;
            spec?: { template?: { spec?: { containers?: ManifestContainer[] } } };
          },
      )
      .find((object) => object?.kind === 'Deployment' || object?.kind === 'StatefulSet');
    const container = workload?.spec?.template?.spec?.containers?.[0];
    if (!container) {
      errors.push(`${name}: no Deployment or StatefulSet container in the release manifest`);
      continue;
    }
    const env = serviceEnvironment(service);
    for (const variable of container.env ?? []) {
      const ours = env[variable.name];
      if (ours === undefined) errors.push(`${name}: ${variable.name} is not set (the release's pod sets it)`);
      else if (variable.value !== undefined) {
        const same =
          variable.name === 'JAVA_TOOL_OPTIONS' ? ours.startsWith(variable.value) : ours === variable.value;
        if (!same)
          errors.push(`${name}: ${variable.name} is ${ours}, the release's pod has ${variable.value}`);
      }
    }
    const theirs = new Set((container.env ?? []).map((variable) => variable.name));
    for (const variable of Object.keys(env)) {
      if (!theirs.has(variable) && !dataPlaneLocalVariables.includes(variable))
        errors.push(`${name}: ${variable} is not a variable of the release's pod`);
    }
    const targets = [...bindMounts(service, '.').keys(), ...[service.tmpfs].flat()].filter(
      (target): target is string => typeof target === 'string',
    );
    for (const { mountPath } of container.volumeMounts ?? []) {
      if (mountPath.endsWith('-tls-secret')) continue;
      if (!targets.some((target) => target === mountPath || target.startsWith(`${mountPath}/`)))
        errors.push(`${name}: nothing is mounted at ${mountPath} (the release's pod mounts it)`);
    }
  }
  return errors;
}
