import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type K8sObject, repoRoot } from './manifests.js';
import type { Workload } from './mesh.js';

/**
 * Where a request actually lands: a Knative destination resolved by Knative's rules, or any in-cluster
 * URL of the manifests, followed through the Service (the one in git and the one Flagger writes) to a
 * port the pod's container listens on. Schema validation cannot see a Trigger that delivers to port 80
 * of a Service listening on 8080; this can.
 */

export interface Destination {
  ref?: { apiVersion: string; kind: string; name: string; namespace?: string };
  uri?: string;
}

/**
 * Services the repository does not define but calls, as their upstream manifests or charts define them:
 * port of the Service -> port the container listens on. A new in-cluster host must be added here (with
 * its source) before the check accepts it.
 */
export const upstreamServices: Record<
  string,
  { source: string; ports: Record<number, number>; pods: Omit<Workload, 'namespace'> }
> = {
  'knative-eventing/kafka-broker-ingress': {
    source: 'knative-extensions/eventing-kafka-broker data-plane/config/broker/500-receiver.yaml',
    ports: { 80: 8080, 8080: 8080 },
    pods: {
      labels: { app: 'kafka-broker-receiver' },
      serviceAccount: 'knative-kafka-broker-data-plane',
      ports: { http: 8080 },
    },
  },
  'knative-eventing/kafka-sink-ingress': {
    source: 'knative-extensions/eventing-kafka-broker data-plane/config/sink/500-receiver.yaml',
    ports: { 80: 8080, 8080: 8080 },
    pods: { labels: { app: 'kafka-sink-receiver' }, serviceAccount: 'knative-kafka-sink-data-plane' },
  },
  // nameOverride flagger-loadtester in k8s/base/progressive/loadtester.yaml
  'soundgood/flagger-loadtester': {
    source: 'fluxcd/flagger charts/loadtester (service.port 80 -> targetPort http, containerPort 8080)',
    ports: { 80: 8080 },
    pods: {
      labels: { app: 'flagger-loadtester' },
      serviceAccount: 'flagger-loadtester',
      ports: { http: 8080 },
    },
  },
  'monitoring/prometheus-server': {
    source: 'prometheus-community/helm-charts charts/prometheus (server.service.servicePort 80 -> 9090)',
    ports: { 80: 9090 },
    pods: { labels: { 'app.kubernetes.io/name': 'prometheus' }, serviceAccount: 'prometheus-server' },
  },
  'openfaas/gateway': {
    source:
      'openfaas/faas-netes chart/openfaas templates/gateway-svc.yaml (port 8080 -> targetPort 8080: the gateway container, port http)',
    ports: { 8080: 8080 },
    pods: { labels: { app: 'gateway' }, serviceAccount: 'openfaas-controller', ports: { http: 8080 } },
  },
  'observability/otel-collector': {
    source: 'open-telemetry/opentelemetry-helm-charts opentelemetry-collector (ports.otlp-http 4318)',
    ports: { 4317: 4317, 4318: 4318 },
    pods: {
      labels: { 'app.kubernetes.io/name': 'opentelemetry-collector' },
      serviceAccount: 'otel-collector',
    },
  },
};

/**
 * The address a Knative controller gives an Addressable it owns (status.address.url), for the kinds the
 * repository points at. Kafka Broker and KafkaSink: control-plane/pkg/receiver/address.go (HTTPAddress,
 * path /<namespace>/<name>) on the ingress Services named in control-plane/config/.../500-controller.yaml.
 */
const addressables: Record<string, (namespace: string, name: string) => string> = {
  'eventing.knative.dev/v1/Broker': (ns, name) =>
    `http://kafka-broker-ingress.knative-eventing.svc.cluster.local/${ns}/${name}`,
  'eventing.knative.dev/v1alpha1/KafkaSink': (ns, name) =>
    `http://kafka-sink-ingress.knative-eventing.svc.cluster.local/${ns}/${name}`,
};

/**
 * A destination's URL as knative.dev/pkg resolves it (resolver/addressable_resolver.go,
 * AddressableFromDestinationV1): a `v1` Service ref becomes `http://<name>.<ns>.svc.cluster.local` with
 * no port, whatever the Service's ports (knative/eventing#5147); any other ref is the object's
 * status.address; `uri` beside a ref must be relative and is resolved against that URL (Go's
 * url.ResolveReference, which WHATWG URL parsing matches for these references); `uri` alone must be
 * absolute. The ref's namespace defaults to the parent's (Knative's defaulting webhook).
 */
export function resolveDestination(destination: Destination, parentNamespace: string): string {
  const { ref, uri } = destination;
  if (!ref) {
    if (!uri || !/^[a-z]+:\/\/[^/]/.test(uri)) throw new Error(`URI ${uri} is not absolute`);
    return uri;
  }
  const namespace = ref.namespace ?? parentNamespace;
  let base: string;
  if (ref.apiVersion === 'v1' && ref.kind === 'Service') {
    base = `http://${ref.name}.${namespace}.svc.cluster.local`;
  } else {
    const address = addressables[`${ref.apiVersion}/${ref.kind}`];
    if (!address) throw new Error(`${ref.apiVersion} ${ref.kind} is not a known Addressable`);
    base = address(namespace, ref.name);
  }
  if (uri === undefined) return base;
  if (/^[a-z][a-z0-9+.-]*:/i.test(uri)) throw new Error('absolute URI is not allowed beside a ref');
  return new URL(uri, base).toString();
}

/** Every Knative destination of the objects (subscribers, sinks, dead-letter sinks), with its holder. */
export function knativeDestinations(
  objects: K8sObject[],
): { holder: string; destination: Destination; namespace: string }[] {
  return objects
    .filter((o) => /(^|\.)knative\.dev\//.test(o.apiVersion))
    .flatMap((o) => {
      const spec = o.spec ?? {};
      const found: [string, Destination | undefined][] = [
        ['subscriber', spec.subscriber],
        ['sink', spec.sink],
        ['reply', spec.reply],
        ['delivery.deadLetterSink', spec.delivery?.deadLetterSink],
      ];
      return found
        .filter((f): f is [string, Destination] => f[1] !== undefined)
        .map(([field, destination]) => ({
          holder: `${o.kind} ${o.metadata.name} ${field}`,
          destination,
          namespace: o.metadata.namespace ?? 'default',
        }));
    });
}

/** http(s) URLs to in-cluster hosts anywhere in the objects' string values (env, webhooks, commands, Helm values). */
export function inClusterUrls(objects: K8sObject[]): { holder: string; url: string; namespace: string }[] {
  const namespaces = new Set([
    ...objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name),
    ...objects.map((o) => o.metadata.namespace).filter((n): n is string => n !== undefined),
  ]);
  // Short names (`http://rentals-canary/...`) resolve in the caller's namespace: those of known Services.
  const services = new Set([
    ...objects
      .filter((o) => o.apiVersion === 'v1' && o.kind === 'Service')
      .map((o) => `${o.metadata.namespace}/${o.metadata.name}`),
    ...objects
      .filter((o) => o.kind === 'Canary')
      .flatMap((c) =>
        ['', '-primary', '-canary'].map(
          (suffix) => `${c.metadata.namespace}/${c.spec.targetRef.name}${suffix}`,
        ),
      ),
    ...Object.keys(upstreamServices),
  ]);
  const found: { holder: string; url: string; namespace: string }[] = [];
  const walk = (value: unknown, holder: string, namespace: string): void => {
    if (typeof value === 'string') {
      for (const [url] of value.matchAll(/https?:\/\/[a-z0-9.-]+(:\d+)?[^\s'"]*/g)) {
        const labels = new URL(url).hostname.split('.');
        const inCluster =
          labels.length === 1
            ? services.has(`${namespace}/${labels[0]}`)
            : namespaces.has(labels[1] as string);
        if (inCluster) found.push({ holder, url, namespace });
      }
    } else if (Array.isArray(value)) {
      for (const item of value) walk(item, holder, namespace);
    } else if (value && typeof value === 'object') {
      for (const item of Object.values(value)) walk(item, holder, namespace);
    }
  };
  for (const o of objects)
    walk(o.spec ?? o.data, `${o.kind} ${o.metadata.name}`, o.metadata.namespace ?? 'default');
  return found;
}

interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
}

interface Container {
  name: string;
  image?: string;
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string }[];
}

/** The defaults of PORT and METRICS_PORT, from the runtime's config schema every service reads. */
function runtimeDefaults(): Record<string, number> {
  const source = readFileSync(join(repoRoot, 'events/runtime/src/config.ts'), 'utf8');
  return Object.fromEntries(
    ['PORT', 'METRICS_PORT'].map((name) => {
      const match = new RegExp(`\\b${name}: z\\.coerce\\.number\\(\\)[^\\n]*\\.default\\((\\d+)\\)`).exec(
        source,
      );
      if (!match) throw new Error(`no default of ${name} in events/runtime/src/config.ts`);
      return [name, Number(match[1])];
    }),
  );
}

/** Ports the container's process binds: a Soundgood service binds PORT and METRICS_PORT; others what they declare. */
export function listeningPorts(container: Container): Set<number> {
  if (container.image?.startsWith('ghcr.io/soundgood/')) {
    const defaults = runtimeDefaults();
    const env = new Map((container.env ?? []).map((e) => [e.name, e.value]));
    return new Set(['PORT', 'METRICS_PORT'].map((name) => Number(env.get(name) ?? defaults[name])));
  }
  return new Set((container.ports ?? []).map((p) => p.containerPort));
}

/**
 * The Services that may answer a host: the one in git and, for a Canary's target, the apex, -primary and
 * -canary Services Flagger writes. Flagger builds their only port from the Canary (fluxcd/flagger
 * pkg/router/kubernetes_default.go, reconcileService): name = service.portName or "http",
 * port = service.port, targetPort = service.targetPort or service.port.
 */
function servicesFor(
  objects: K8sObject[],
  namespace: string,
  name: string,
): { what: string; ports: ServicePort[]; pods: K8sObject[]; flagger: boolean }[] {
  const deployments = objects.filter(
    (o) => o.kind === 'Deployment' && (o.metadata.namespace ?? 'default') === namespace,
  );
  const selecting = (selector: Record<string, string>) =>
    deployments.filter((d) =>
      Object.entries(selector).every(([k, v]) => d.spec.template.metadata?.labels?.[k] === v),
    );
  const found: { what: string; ports: ServicePort[]; pods: K8sObject[]; flagger: boolean }[] = [];
  for (const s of objects.filter(
    (o) =>
      o.apiVersion === 'v1' &&
      o.kind === 'Service' &&
      o.metadata.name === name &&
      (o.metadata.namespace ?? 'default') === namespace,
  )) {
    found.push({
      what: `Service ${name}`,
      flagger: false,
      ports: s.spec.ports ?? [],
      pods: selecting(s.spec.selector ?? {}),
    });
  }
  for (const c of objects.filter(
    (o) => o.kind === 'Canary' && (o.metadata.namespace ?? 'default') === namespace,
  )) {
    const target = c.spec.targetRef.name;
    if (![target, `${target}-primary`, `${target}-canary`].includes(name)) continue;
    const service = c.spec.service;
    found.push({
      what: `Service ${name} written by Flagger from Canary ${c.metadata.name}`,
      flagger: true,
      ports: [
        {
          name: service.portName ?? 'http',
          port: service.port,
          targetPort: service.targetPort ?? service.port,
        },
      ],
      pods: deployments.filter((d) => d.metadata.name === target),
    });
  }
  return found;
}

/** A pod a request arrives at, and the port it arrives on. */
export interface Endpoint {
  workload: Workload;
  port: number;
}

/** The pods of a Deployment as the policies see them; `labels` override the template's (Flagger's -primary copy). */
export function workloadOf(d: K8sObject, labels: Record<string, string> = {}): Workload {
  const template = d.spec.template;
  const containers: Container[] = template.spec.containers;
  return {
    namespace: d.metadata.namespace ?? 'default',
    labels: { ...(template.metadata?.labels ?? {}), ...labels },
    annotations: template.metadata?.annotations ?? {},
    serviceAccount: template.spec.serviceAccountName,
    ports: Object.fromEntries(
      containers.flatMap((c) => (c.ports ?? []).filter((p) => p.name).map((p) => [p.name, p.containerPort])),
    ),
  };
}

/** Follows one request to `url` from `callerNamespace`: the pods and ports it lands on, or why it lands nowhere. */
export function reach(
  url: string,
  callerNamespace: string,
  objects: K8sObject[],
): { problems: string[]; endpoints: Endpoint[] } {
  const parsed = new URL(url);
  const labels = parsed.hostname.replace(/\.svc(\.cluster\.local)?$/, '').split('.');
  const [name, namespace = callerNamespace] = labels as [string, string?];
  const port = Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80));
  const upstream = upstreamServices[`${namespace}/${name}`];
  if (upstream) {
    const target = upstream.ports[port];
    if (target === undefined)
      return { problems: [`${url}: ${upstream.source} has no port ${port}`], endpoints: [] };
    return { problems: [], endpoints: [{ workload: { namespace, ...upstream.pods }, port: target }] };
  }
  const services = servicesFor(objects, namespace, name);
  if (services.length === 0) return { problems: [`${url}: no Service ${namespace}/${name}`], endpoints: [] };
  const problems: string[] = [];
  const endpoints: Endpoint[] = [];
  for (const { what, ports, pods, flagger } of services) {
    const servicePort = ports.find((p) => p.port === port);
    if (!servicePort) {
      problems.push(`${url}: ${what} has no port ${port} (ports ${ports.map((p) => p.port).join(', ')})`);
      continue;
    }
    if (pods.length === 0) problems.push(`${url}: ${what} selects no pods`);
    for (const d of pods) {
      const target = servicePort.targetPort ?? servicePort.port;
      const containers: Container[] = d.spec.template.spec.containers;
      const container =
        typeof target === 'string'
          ? containers.find((c) => c.ports?.some((p) => p.name === target))
          : containers.find((c) => listeningPorts(c).has(target));
      const number =
        typeof target === 'string' ? container?.ports?.find((p) => p.name === target)?.containerPort : target;
      if (!container || number === undefined) {
        problems.push(
          `${url}: ${what} targets port ${target}, which no container of ${d.metadata.name} declares`,
        );
      } else if (!listeningPorts(container).has(number)) {
        problems.push(
          `${url}: ${what} targets ${target} = ${number}, container ${container.name} of ${d.metadata.name} listens on ${[...listeningPorts(container)].join(', ')}`,
        );
      } else {
        // Flagger's apex and -primary Services select the -primary copy, whose app label it rewrites.
        const primary = flagger && name !== `${d.metadata.name}-canary`;
        const labels: Record<string, string> = primary ? { app: `${d.metadata.name}-primary` } : {};
        endpoints.push({ workload: workloadOf(d, labels), port: number });
      }
    }
  }
  return { problems, endpoints };
}

/** Problems of one request to `url` from `callerNamespace`: none if it reaches a listening port. */
export function followUrl(url: string, callerNamespace: string, objects: K8sObject[]): string[] {
  return reach(url, callerNamespace, objects).problems;
}

/** Every Knative destination resolved and followed, and every in-cluster URL followed. */
export function requestsReachListeners(objects: K8sObject[]): string[] {
  const knative = knativeDestinations(objects).flatMap(({ holder, destination, namespace }) => {
    let url: string;
    try {
      url = resolveDestination(destination, namespace);
    } catch (error) {
      return [`${holder}: ${(error as Error).message}`];
    }
    return followUrl(url, namespace, objects).map((p) => `${holder}: ${p}`);
  });
  const urls = inClusterUrls(objects).flatMap(({ holder, url, namespace }) =>
    followUrl(url, namespace, objects).map((p) => `${holder}: ${p}`),
  );
  return [...knative, ...urls];
}
