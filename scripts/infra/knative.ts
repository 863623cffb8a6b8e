/**
 * Knative's Kafka broker data plane: the `receiver` (broker ingress, also the dead-letter KafkaSink's
 * ingress) and the `dispatcher` (one Kafka consumer group per Trigger, delivering over HTTP) of
 * knative-extensions/eventing-kafka-broker, the same code the cluster's Kafka Broker runs, as two
 * local JVMs in front of Kafka. No Kubernetes: both read the contract file that the Kafka controller
 * writes in a cluster; here it is `knativeContract(...)` of `@soundgood/event-catalog`, generated from
 * the catalog's subscriptions like the Triggers.
 *
 * - `prepare()` builds `receiver.jar` and `dispatcher.jar` once into `.cache/knative/<version>/` with
 *   Maven and a JDK 21+ from the source in `KNATIVE_DATA_PLANE_SRC` (default `../shared/knative/`
 *   beside the repository): either a directory holding `eventing-kafka-broker-<version>.tar.gz`, or a
 *   checkout of the repository at tag `<version>` (its `data-plane/` and `proto/`). Cold ~4 min.
 * - `start(o)` writes the instance directory (`o.dir`): the ConfigMap files the pods mount (taken
 *   from the source's `data-plane/config/broker/100-config-kafka-broker-data-plane.yaml`), features
 *   (`authentication-oidc=disabled`), observability, the contract; starts both JVMs with an explicit
 *   heap and the Kubernetes couplings switched off; returns once the receiver answers the control
 *   plane's `K-Network-Probe` on the broker path and the dispatcher has partitions assigned for every
 *   egress. `env.K_SINK` is the broker ingress URL. The contract's topics must exist before.
 * - `startBroker(o)` is what `npm start`, the tests and the benchmark call: creates the broker's and
 *   the dead-letter sink's topics, generates the contract from the catalog and starts an instance.
 * - `writeContract(r, c)` replaces the contract of a running instance (both processes watch it).
 * - Logs: `<dir>/receiver.log`, `<dir>/dispatcher.log` (JSON lines, as in the pods).
 *
 * Behaviour and configuration, as measured here: ../shared/knative/README.md.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import {
  type ContractOptions,
  type KnativeContract,
  knativeContract,
  type ServiceName,
} from '../../events/catalog/dist/index.js';
import {
  alive,
  type Component,
  log,
  portOpen,
  type Running,
  root,
  stateDir,
  stopPids,
  waitUntil,
} from './component.ts';
import { createTopics } from './kafka.ts';

/** The release the cluster runs (k8s/infrastructure): both run the same data plane code. */
export const version = 'knative-v1.23.0';

export const sourceDir = resolve(root, process.env.KNATIVE_DATA_PLANE_SRC ?? '../shared/knative');
const cacheDir = join(root, '.cache', 'knative', version);
const jars = { receiver: join(cacheDir, 'receiver.jar'), dispatcher: join(cacheDir, 'dispatcher.jar') };

export interface KnativeOptions {
  kafkaBrokers: string;
  /** What the data plane serves and routes (`knativeContract` of `@soundgood/event-catalog`). */
  contract: KnativeContract;
  /** The receiver's ingress port, on 127.0.0.1. */
  port: number;
  /** Config, contract, logs of this instance. Default: `.cache/infra/knative-<port>`. */
  dir?: string;
  /** Prometheus metrics on these loopback ports; none when absent. */
  metricsPorts?: { receiver: number; dispatcher: number };
  /**
   * Extra files of the config-observability ConfigMap, for both processes, e.g.
   * `{ 'tracing-protocol': 'http/protobuf', 'tracing-endpoint': '...', 'tracing-sampling-rate': '1' }`.
   */
  observability?: Record<string, string>;
  logLevel?: 'DEBUG' | 'INFO' | 'WARN';
}

/** The newest JDK >= 21: JAVA_HOME if it qualifies, else under /usr/lib/jvm. */
function javaHome(): string {
  const major = (home: string) => {
    const out = spawnSync(join(home, 'bin', 'java'), ['-version'], { encoding: 'utf8' });
    return Number(/version "(\d+)/.exec(`${out.stderr}`)?.[1] ?? 0);
  };
  const candidates = [
    ...(process.env.JAVA_HOME ? [process.env.JAVA_HOME] : []),
    ...(existsSync('/usr/lib/jvm') ? readdirSync('/usr/lib/jvm').map((d) => join('/usr/lib/jvm', d)) : []),
  ].filter((home) => existsSync(join(home, 'bin', 'java')));
  const best = candidates.map((home) => ({ home, v: major(home) })).sort((a, b) => b.v - a.v)[0];
  if (!best || best.v < 21) throw new Error('the Knative data plane needs a JDK 21 or newer (set JAVA_HOME)');
  return best.home;
}

/** Unpacks the source (tarball or checkout) into `into`: `data-plane/` and `proto/`. */
function unpackSource(into: string): void {
  rmSync(into, { recursive: true, force: true });
  mkdirSync(into, { recursive: true });
  const tarball = join(sourceDir, `eventing-kafka-broker-${version}.tar.gz`);
  if (existsSync(tarball)) {
    const tar = spawnSync('tar', ['-xzf', tarball, '-C', into, '--strip-components=1'], { stdio: 'inherit' });
    if (tar.status !== 0) throw new Error(`could not unpack ${tarball}`);
  } else if (existsSync(join(sourceDir, 'data-plane', 'pom.xml'))) {
    for (const part of ['data-plane', 'proto'])
      cpSync(join(sourceDir, part), join(into, part), { recursive: true });
  } else {
    throw new Error(
      `no Knative data plane source in ${sourceDir}: set KNATIVE_DATA_PLANE_SRC to a checkout of ` +
        `knative-extensions/eventing-kafka-broker at tag ${version}, or to a directory holding eventing-kafka-broker-${version}.tar.gz`,
    );
  }
}

const configMapFile = join(cacheDir, 'config', '100-config-kafka-broker-data-plane.yaml');

/** The data of the pods' ConfigMap config-kafka-broker-data-plane, kept beside the jars built with it. */
function dataPlaneConfigMap(): Record<string, string> {
  return (parse(readFileSync(configMapFile, 'utf8')) as { data: Record<string, string> }).data;
}

// Same appender as the pods' kafka-config-logging ConfigMap: JSON lines (logstash encoder, in the jars).
const logback = (level: string) => `<configuration>
  <appender name="json" class="ch.qos.logback.core.ConsoleAppender">
    <encoder class="net.logstash.logback.encoder.LogstashEncoder"/>
  </appender>
  <appender name="async" class="ch.qos.logback.classic.AsyncAppender">
    <appender-ref ref="json"/>
    <neverBlock>true</neverBlock>
  </appender>
  <root level="${level}"><appender-ref ref="async"/></root>
</configuration>
`;

/** Replaces the contract of a running instance; its generation must be higher than the last one's. */
export function writeContract(running: Running, contract: KnativeContract): void {
  const dir = running.dataDir as string;
  mkdirSync(join(dir, 'contract'), { recursive: true });
  const tmp = join(dir, 'contract', '.data.tmp');
  writeFileSync(tmp, JSON.stringify(contract, null, 2));
  renameSync(tmp, join(dir, 'contract', 'data'));
}

export const knative: Component<KnativeOptions> = {
  name: 'knative',
  version,

  async prepare() {
    if ([jars.receiver, jars.dispatcher, configMapFile].every((f) => existsSync(f))) return;
    const home = javaHome();
    log(`building the Knative data plane ${version} from ${sourceDir} with Maven (once, ~4 min cold)`);
    const src = join(cacheDir, 'src');
    unpackSource(src);
    const dataPlane = join(src, 'data-plane');
    // The upstream pom also lists a snapshot repository that is neither reachable nor needed here.
    const pom = join(dataPlane, 'pom.xml');
    writeFileSync(pom, readFileSync(pom, 'utf8').replace(/<repositories>[\s\S]*?<\/repositories>/, ''));
    const skip = [
      'skipTests',
      'jacoco.skip',
      'enforcer.skip',
      'spotless.check.skip',
      'spotless.apply.skip',
      'license.skip',
      'license.skipAggregateDownloadLicenses',
      'license.skipAggregateAddThirdParty',
      'license.skipDownloadLicenses',
      'license.skipAddThirdParty',
    ].map((p) => `-D${p}=true`);
    // receiver-loom and dispatcher-loom: the modules the Broker's container images are built from.
    const mvn = spawnSync(
      'nice',
      ['mvn', '-B', '-ntp', '-q', '-pl', 'receiver-loom,dispatcher-loom', '-am', ...skip, 'package'],
      { cwd: dataPlane, stdio: 'inherit', env: { ...process.env, JAVA_HOME: home } },
    );
    if (mvn.status !== 0)
      throw new Error('mvn could not build the Knative data plane (see its output above)');
    cpSync(join(dataPlane, 'receiver-loom', 'target', 'receiver-loom-1.0-SNAPSHOT.jar'), jars.receiver);
    cpSync(join(dataPlane, 'dispatcher-loom', 'target', 'dispatcher-loom-1.0-SNAPSHOT.jar'), jars.dispatcher);
    // Keep the ConfigMap the jars were built with beside them; drop the build tree (~300 MB).
    mkdirSync(join(cacheDir, 'config'), { recursive: true });
    cpSync(join(dataPlane, 'config', 'broker', '100-config-kafka-broker-data-plane.yaml'), configMapFile);
    rmSync(src, { recursive: true, force: true });
  },

  async start(options) {
    await this.prepare();
    const dir = options.dir ?? join(stateDir, `knative-${options.port}`);
    const busy = [options.port, ...(options.metricsPorts ? Object.values(options.metricsPorts) : [])];
    for (const port of busy) {
      // A probe answered by someone else's server would look like readiness.
      if (await portOpen(port)) throw new Error(`Knative data plane: 127.0.0.1:${port} is already in use`);
    }
    rmSync(dir, { recursive: true, force: true });
    const cfg = join(dir, 'config');
    mkdirSync(cfg, { recursive: true });
    const properties = dataPlaneConfigMap();
    // A new consumer group starts at the beginning of its topic: in a cluster the controller sets
    // new groups' offsets before the Trigger is ready; here an event sent between start and
    // partition assignment would otherwise be skipped.
    properties['config-kafka-broker-consumer.properties'] = (
      properties['config-kafka-broker-consumer.properties'] as string
    ).replace(/^auto\.offset\.reset=.*$/m, 'auto.offset.reset=earliest');
    // A pod listens on 0.0.0.0; here only loopback.
    properties['config-kafka-broker-httpserver.properties'] += 'host=127.0.0.1\n';
    for (const [name, text] of Object.entries(properties)) writeFileSync(join(cfg, name), text);
    writeFileSync(join(cfg, 'config-logging.xml'), logback(options.logLevel ?? 'INFO'));
    // config-features: only authentication-oidc is read; disabled = no OIDC, no API server calls.
    mkdirSync(join(dir, 'features'));
    writeFileSync(join(dir, 'features', 'authentication-oidc'), 'disabled');
    for (const p of ['receiver', 'dispatcher'] as const) {
      const obs = join(dir, `${p}-observability`);
      mkdirSync(obs);
      const files: Record<string, string> = { 'tracing-protocol': 'none', ...options.observability };
      if (options.metricsPorts) {
        files['metrics-protocol'] = 'prometheus';
        files['metrics-endpoint'] = `http://127.0.0.1:${options.metricsPorts[p]}/metrics`;
      }
      for (const [name, text] of Object.entries(files)) writeFileSync(join(obs, name), text);
    }
    const running: Running = {
      pids: [],
      env: { K_SINK: `http://127.0.0.1:${options.port}${options.contract.resources[0].ingress.path}` },
      logs: [join(dir, 'receiver.log'), join(dir, 'dispatcher.log')],
      dataDir: dir,
    };
    writeContract(running, options.contract);

    // From the release's data-plane/config/broker/500-{receiver,dispatcher}.yaml.
    const common = {
      PATH: process.env.PATH ?? '',
      PRODUCER_CONFIG_FILE_PATH: join(cfg, 'config-kafka-broker-producer.properties'),
      DATA_PLANE_CONFIG_FILE_PATH: join(dir, 'contract', 'data'),
      METRICS_PUBLISH_QUANTILES: 'false',
      METRICS_JVM_ENABLED: 'false',
      METRICS_HOST: '127.0.0.1',
      SERVICE_NAMESPACE: 'knative-eventing',
      HTTP2_DISABLE: 'true',
      WAIT_STARTUP_SECONDS: '30',
      CONFIG_FEATURES_PATH: join(dir, 'features'),
      // The fabric8 Kubernetes client: no kubeconfig, no service account, and an API server URL on
      // which nothing listens (the receiver's EventType informer logs one error and gives up).
      KUBERNETES_MASTER: 'http://127.0.0.1:1',
      KUBERNETES_AUTH_TRYKUBECONFIG: 'false',
      KUBERNETES_AUTH_TRYSERVICEACCOUNT: 'false',
      KUBERNETES_NAMESPACE: 'knative-eventing',
    };
    const processes = {
      receiver: {
        heap: '-Xmx384m',
        env: {
          SERVICE_NAME: 'kafka-broker-receiver',
          INGRESS_PORT: String(options.port),
          // Unused without a TLS secret, but parsed.
          INGRESS_TLS_PORT: '0',
          HTTPSERVER_CONFIG_FILE_PATH: join(cfg, 'config-kafka-broker-httpserver.properties'),
          LIVENESS_PROBE_PATH: '/healthz',
          READINESS_PROBE_PATH: '/readyz',
        },
      },
      dispatcher: {
        heap: '-Xmx512m',
        env: {
          SERVICE_NAME: 'kafka-broker-dispatcher',
          CONSUMER_CONFIG_FILE_PATH: join(cfg, 'config-kafka-broker-consumer.properties'),
          WEBCLIENT_CONFIG_FILE_PATH: join(cfg, 'config-kafka-broker-webclient.properties'),
          EGRESSES_INITIAL_CAPACITY: '20',
          INSTANCE_ID: `dispatcher-${options.port}`,
        },
      },
    };
    const java = join(javaHome(), 'bin', 'java');
    const launch = () => {
      for (const [name, p] of Object.entries(processes)) {
        const out = openSync(join(dir, `${name}.log`), 'w');
        const child = spawn(
          java,
          [
            '-XX:+CrashOnOutOfMemoryError',
            // The pods size the heap as a share of the container's memory; a machine's RAM is no limit here.
            p.heap,
            '-XX:+UseSerialGC',
            `-Dlogback.configurationFile=${join(cfg, 'config-logging.xml')}`,
            '-jar',
            jars[name as keyof typeof jars],
          ],
          {
            detached: true,
            stdio: ['ignore', out, out],
            env: { ...common, ...p.env, CONFIG_OBSERVABILITY_PATH: join(dir, `${name}-observability`) },
          },
        );
        child.unref();
        running.pids.push(child.pid as number);
      }
      writeFileSync(join(dir, 'pids'), running.pids.join('\n'));
    };
    // Ready in 8-14 s here, loaded or not; one fresh-clone CI run waited 180 s in vain, with both
    // processes alive. A data plane that is not ready in 90 s is started once more, said on stderr
    // with what it lacked and its logs kept (*.log.1); a second miss fails the caller.
    for (let attempt = 1; ; attempt++) {
      log(`starting the Knative data plane ${version}: ingress ${running.env.K_SINK}`);
      launch();
      let waiting: string | undefined;
      try {
        await waitUntil(
          'Knative data plane',
          async () => {
            waiting = await notReady(running, options);
            return waiting === undefined;
          },
          attempt === 1 ? 90_000 : 100_000,
          running.pids,
          running.logs,
        );
        return running;
      } catch (error) {
        // A CI run keeps no logs: what it waited for and how each log ended go into the message.
        const tails = running.logs.map(
          (file) => `--- ${file}, its warnings and last lines:\n${logTail(file)}`,
        );
        const message = [
          `${(error as Error).message}; still waiting for ${waiting ?? 'its first readiness check'}`,
          ...tails,
        ].join('\n');
        await stopPids(running.pids, 5000);
        running.pids.length = 0;
        if (attempt === 2) throw new Error(message, { cause: error });
        log(`${message}\n--- starting it once more`);
        for (const file of running.logs) renameSync(file, `${file}.1`);
      }
    }
  },

  alive: (running) => running.pids.length > 0 && running.pids.every(alive),

  async stop(running) {
    log('stopping the Knative data plane');
    await stopPids(running.pids, 15_000);
  },
};

/**
 * What the data plane still lacks, or undefined once it is ready: the receiver answers the control
 * plane's probe with 200 once the path is in its ingress table; the dispatcher logs each egress's
 * partition assignment.
 */
async function notReady(running: Running, options: KnativeOptions): Promise<string | undefined> {
  const probe = await fetch(running.env.K_SINK as string, {
    headers: { 'K-Network-Probe': 'probe', 'K-Network-Hash': 'soundgood' },
    signal: AbortSignal.timeout(2000),
  }).then(
    (r) => (r.status === 200 ? undefined : `a 200 to the receiver's probe (got ${r.status})`),
    (e: Error) => `an answer to the receiver's probe (${e.message})`,
  );
  if (probe) return probe;
  const assigned = readFileSync(running.logs[1] as string, 'utf8')
    .split('\n')
    .filter((line) => line.includes('Received assign partitions'));
  const groups = options.contract.resources[0].egresses.map((e) => e.consumerGroup);
  const unassigned = groups.filter((g) => !assigned.some((line) => line.includes(`consumerGroup='${g}'`)));
  return unassigned.length === 0
    ? undefined
    : `partitions for ${unassigned.length} of ${groups.length} consumer groups (${unassigned.join(', ')})`;
}

/** The last WARN and ERROR lines of a data plane log and its last lines, each cut at 400 characters. */
function logTail(file: string): string {
  if (!existsSync(file)) return '(no file)';
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  const warnings = lines.filter((line) => /"level":"(WARN|ERROR)"/.test(line)).slice(-10);
  return [...new Set([...warnings, ...lines.slice(-5)])]
    .map((line) => (line.length > 400 ? `${line.slice(0, 400)}…` : line))
    .join('\n');
}

export interface BrokerOptions {
  kafkaBrokers: string;
  /** Names the ingress paths, the broker topic and the consumer groups (see `knativeContract`). */
  namespace: string;
  port: number;
  /** Base URL of each service; deliveries go to `<url>/events`. */
  subscriberUrl: (service: ServiceName) => string;
  deadLetterTopic?: string;
  deliveryOrder?: ContractOptions['deliveryOrder'];
  metricsPorts?: KnativeOptions['metricsPorts'];
  observability?: KnativeOptions['observability'];
  /** An OTLP/HTTP collector (as OTEL_EXPORTER_OTLP_ENDPOINT) both processes export their spans to. */
  otlpEndpoint?: string;
  dir?: string;
}

/** The catalog's Broker and Triggers on a data plane instance of its own, topics created first. */
export async function startBroker(
  options: BrokerOptions,
): Promise<{ running: Running; contract: KnativeContract; ingress: string }> {
  const contract = knativeContract({
    generation: 1,
    bootstrapServers: options.kafkaBrokers,
    namespace: options.namespace,
    receiverUrl: `http://127.0.0.1:${options.port}`,
    subscriberUrl: options.subscriberUrl,
    ...(options.deadLetterTopic ? { deadLetterTopic: options.deadLetterTopic } : {}),
    ...(options.deliveryOrder ? { deliveryOrder: options.deliveryOrder } : {}),
  });
  await createTopics(
    options.kafkaBrokers,
    contract.resources.flatMap((r) => r.topics),
  );
  const running = await knative.start({
    kafkaBrokers: options.kafkaBrokers,
    contract,
    port: options.port,
    ...(options.dir ? { dir: options.dir } : {}),
    ...(options.metricsPorts ? { metricsPorts: options.metricsPorts } : {}),
    observability: {
      ...(options.otlpEndpoint ? tracingTo(options.otlpEndpoint) : {}),
      ...options.observability,
    },
  });
  return { running, contract, ingress: running.env.K_SINK as string };
}

/**
 * The config-observability files that make the receiver and dispatcher export their spans over
 * OTLP/HTTP, so that a saga stays one trace with the broker's hops in it (both propagate
 * `traceparent` through the Kafka record). Keys and values as the data plane reads them
 * (data-plane/core/.../observability/ObservabilityConfig.java, TracingProvider.java): the Java
 * exporter takes the full `/v1/traces` URL, and its sampler is parent-based, so the rate only
 * decides for requests that arrive without a trace.
 */
export function tracingTo(otlpEndpoint: string): Record<string, string> {
  return {
    'tracing-protocol': 'http/protobuf',
    'tracing-endpoint': `${otlpEndpoint.replace(/\/+$/, '')}/v1/traces`,
    'tracing-sampling-rate': '1',
  };
}
