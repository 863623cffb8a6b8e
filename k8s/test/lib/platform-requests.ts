import { knativeDestinations, reach, resolveDestination, workloadOf } from './addressing.js';
import type { K8sObject } from './manifests.js';
import type { MeshRequest, Workload } from './mesh.js';

/**
 * The requests the platform itself makes to Soundgood's workloads and to the broker, each from the
 * upstream source that makes it. Derived from the manifests where they say who is called (Triggers,
 * K_SINK, Canary webhooks, the public VirtualService), so a new Trigger, service or webhook brings its
 * requests along. Istio's policies must let every one of them through (k8s/test/lib/mesh.ts).
 */

const knativeEventing = 'knative-eventing';

/** The Kafka broker's control plane: control-plane/config/eventing-kafka-broker/200-controller/500-controller.yaml */
const kafkaController: Workload = {
  namespace: knativeEventing,
  labels: { app: 'kafka-controller' },
  serviceAccount: 'kafka-controller',
};

/** The broker's dispatcher (delivers to subscribers and dead-letter sinks, posts replies to the ingress): data-plane/config/broker/500-dispatcher.yaml */
const dispatcher: Workload = {
  namespace: knativeEventing,
  labels: { app: 'kafka-broker-dispatcher' },
  serviceAccount: 'knative-kafka-broker-data-plane',
};

/** Flagger, released by the HelmRelease `flagger`: the chart's ServiceAccount is the release's full name. */
function flagger(objects: K8sObject[]): Workload {
  const release = objects.find((o) => o.kind === 'HelmRelease' && o.spec?.chart?.spec?.chart === 'flagger');
  if (!release) throw new Error('no HelmRelease of the flagger chart');
  return {
    namespace: release.spec.targetNamespace ?? release.metadata.namespace ?? 'flux-system',
    labels: { 'app.kubernetes.io/name': 'flagger' },
    serviceAccount: release.metadata.name,
  };
}

/** The Istio ingress gateway, released by the HelmRelease of Istio's `gateway` chart (ServiceAccount = release name). */
function ingressGateway(objects: K8sObject[]): Workload {
  const release = objects.find((o) => o.kind === 'HelmRelease' && o.spec?.chart?.spec?.chart === 'gateway');
  if (!release) throw new Error('no HelmRelease of the istio gateway chart');
  return {
    namespace: release.spec.targetNamespace ?? release.metadata.namespace,
    labels: { istio: 'ingressgateway' },
    serviceAccount: release.metadata.name,
  };
}

/** Prometheus, released by the HelmRelease of prometheus-community's `prometheus` chart. */
function prometheus(objects: K8sObject[]): Workload {
  const release = objects.find(
    (o) => o.kind === 'HelmRelease' && o.spec?.chart?.spec?.chart === 'prometheus',
  );
  if (!release) throw new Error('no HelmRelease of the prometheus chart');
  return {
    namespace: release.spec.targetNamespace ?? release.metadata.namespace ?? 'flux-system',
    labels: { 'app.kubernetes.io/name': 'prometheus' },
    serviceAccount: `${release.metadata.name}-server`,
  };
}

interface Call {
  what: string;
  from?: Workload;
  url: string;
  callerNamespace: string;
  method: string;
  headers?: Record<string, string>;
}

/** A call followed to every pod it lands on; one request per pod and port. */
function landing(call: Call, objects: K8sObject[]): { requests: MeshRequest[]; problems: string[] } {
  const { problems, endpoints } = reach(call.url, call.callerNamespace, objects);
  const url = new URL(call.url);
  return {
    problems: problems.map((p) => `${call.what}: ${p}`),
    requests: endpoints.map(({ workload, port }) => ({
      what: `${call.what} -> ${workload.namespace}/${workload.labels.app ?? JSON.stringify(workload.labels)}`,
      from: call.from,
      to: workload,
      port,
      method: call.method,
      path: url.pathname,
      host: url.host,
      headers: call.headers,
    })),
  };
}

/** URLs and the method of `curl`/`hey` commands in a loadtester webhook. */
function commandCalls(cmd: string): { url: string; method: string }[] {
  const method = /(?:-X|-m)\s+([A-Z]+)/.exec(cmd)?.[1] ?? 'GET';
  return [...cmd.matchAll(/https?:\/\/[^\s'"]+/g)].map(([url]) => ({ url, method }));
}

/** A path a VirtualService match accepts (checked to match the regex), for the gateway's requests. */
function samplePath(uri: { prefix?: string; exact?: string; regex?: string }): string {
  if (uri.exact) return uri.exact;
  if (uri.prefix) return uri.prefix;
  const regex = uri.regex as string;
  const sample = regex
    .replace(/^\^/, '')
    .replace(/\$$/, '')
    .replace(/\(\/\.\*\)\?/g, '')
    .replace(/\[\^\/\]\+/g, 'x');
  if (!new RegExp(regex).test(sample)) throw new Error(`no sample path for ${regex}`);
  return sample;
}

/** What each OpenFaaS function GETs, by its base-URL variable: functions/monthly-report/src/extract.ts. */
const functionReads: Record<string, [string, string][]> = {
  'monthly-report': [
    ['RENTALS_URL', '/rentals'],
    ['RENTALS_URL', '/rentals/0b9c2d44-5c43-4c87-8d6f-0f6f9f6b7e11'], // a rental named by a payment
    ['BILLING_URL', '/charges'],
    ['BILLING_URL', '/refunds'],
    ['INVENTORY_URL', '/instruments'],
  ],
};

/** Every request of the platform's own components in this cluster, and problems following them. */
export function platformRequests(objects: K8sObject[]): { requests: MeshRequest[]; problems: string[] } {
  const calls: Call[] = [];

  // Readiness of each Broker and KafkaSink: the kafka-controller GETs <ingress>:8080/<ns>/<name> with
  // K-Network-Probe (control-plane/pkg/prober/prober.go probe(), async_prober.go sets the pod port,
  // env BROKER_INGRESS_POD_PORT / SINK_INGRESS_POD_PORT = 8080 in 500-controller.yaml).
  for (const o of objects.filter((o) => o.kind === 'Broker' || o.kind === 'KafkaSink')) {
    const address = resolveDestination(
      { ref: { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name } },
      o.metadata.namespace ?? 'default',
    );
    calls.push({
      what: `kafka-controller probes ${o.kind} ${o.metadata.name}`,
      from: kafkaController,
      url: address.replace('.svc.cluster.local/', '.svc.cluster.local:8080/'),
      callerNamespace: knativeEventing,
      method: 'GET',
      headers: { 'K-Network-Probe': 'probe' },
    });
  }

  // Deliveries of the dispatcher to every Knative destination (subscribers, dead-letter sinks).
  for (const { holder, destination, namespace } of knativeDestinations(objects)) {
    let url: string;
    try {
      url = resolveDestination(destination, namespace);
    } catch {
      continue; // reported by requestsReachListeners
    }
    calls.push({
      what: `dispatcher delivers ${holder}`,
      from: dispatcher,
      url,
      callerNamespace: namespace,
      method: 'POST',
    });
  }

  for (const d of objects.filter((o) => o.kind === 'Deployment')) {
    const template = d.spec.template;
    const workload = workloadOf(d);
    for (const container of template.spec.containers) {
      // Events a service publishes: POST to its K_SINK (the broker ingress).
      const sink = container.env?.find((e: { name: string }) => e.name === 'K_SINK')?.value;
      if (sink) {
        calls.push({
          what: `${d.metadata.name} publishes`,
          from: workload,
          url: sink,
          callerNamespace: workload.namespace,
          method: 'POST',
        });
      }
    }
  }

  // OpenFaaS functions: on CE a Deployment labelled faas_function=<name> (k8s/functions; its K_SINK is
  // followed above with the other Deployments), with OpenFaaS Pro a Function the operator turns into one,
  // running as the com.openfaas.serviceaccount annotation says (k8s/components/openfaas-pro-function).
  const functions: { name: string; from: Workload; env: Record<string, string> }[] = [];
  for (const d of objects.filter((o) => o.kind === 'Deployment')) {
    const name = d.metadata.labels?.faas_function;
    if (!name) continue;
    const env = Object.fromEntries(
      (d.spec.template.spec.containers[0].env ?? [])
        .filter((e: { value?: string }) => e.value !== undefined)
        .map((e: { name: string; value: string }) => [e.name, e.value]),
    );
    functions.push({ name, from: workloadOf(d), env });
  }
  for (const fn of objects.filter((o) => o.apiVersion === 'openfaas.com/v1' && o.kind === 'Function')) {
    const from: Workload = {
      namespace: fn.metadata.namespace ?? 'openfaas-fn',
      labels: { ...(fn.spec.labels ?? {}), faas_function: fn.spec.name },
      serviceAccount: fn.spec.annotations?.['com.openfaas.serviceaccount'] ?? 'default',
    };
    const env: Record<string, string> = fn.spec.environment ?? {};
    if (env.K_SINK)
      calls.push({
        what: `function ${fn.spec.name} publishes`,
        from,
        url: env.K_SINK,
        callerNamespace: from.namespace,
        method: 'POST',
      });
    functions.push({ name: fn.spec.name, from, env });
  }
  for (const { name, from, env } of functions)
    for (const [variable, path] of functionReads[name] ?? []) {
      const base = env[variable];
      if (!base) throw new Error(`Function ${name} has no ${variable}`);
      calls.push({
        what: `function ${name} reads ${path}`,
        from,
        url: `${base}${path}`,
        callerNamespace: from.namespace,
        method: 'GET',
      });
    }

  for (const canary of objects.filter((o) => o.kind === 'Canary')) {
    const namespace = canary.metadata.namespace ?? 'default';
    const loadtester = objects.find(
      (o) =>
        o.kind === 'HelmRelease' &&
        o.spec?.chart?.spec?.chart === 'loadtester' &&
        o.metadata.namespace === namespace,
    );
    for (const hook of canary.spec.analysis?.webhooks ?? []) {
      // Flagger POSTs each webhook's payload to its url (fluxcd/flagger pkg/controller/webhook.go callWebhook).
      calls.push({
        what: `Flagger calls webhook ${canary.metadata.name}/${hook.name}`,
        from: flagger(objects),
        url: hook.url,
        callerNamespace: namespace,
        method: 'POST',
      });
      // The loadtester runs the webhook's command as its own ServiceAccount.
      for (const { url, method } of commandCalls(hook.metadata?.cmd ?? '')) {
        calls.push({
          what: `loadtester runs ${canary.metadata.name}/${hook.name}`,
          from: {
            namespace,
            labels: { app: 'flagger-loadtester' },
            serviceAccount: loadtester?.spec.values?.serviceAccountName ?? 'default',
          },
          url,
          callerNamespace: namespace,
          method,
        });
      }
    }
  }

  // Flagger queries each MetricTemplate's Prometheus.
  for (const template of objects.filter((o) => o.kind === 'MetricTemplate' && o.spec.provider?.address)) {
    calls.push({
      what: `Flagger queries ${template.metadata.name}`,
      from: flagger(objects),
      url: `${template.spec.provider.address}/api/v1/query`,
      callerNamespace: template.metadata.namespace ?? 'default',
      method: 'GET',
    });
  }

  // The ingress gateway forwards each public route to the Service of its delegate, on the delegate's Canary port.
  for (const vs of objects.filter(
    (o) => o.kind === 'VirtualService' && (o.spec.gateways ?? []).some((g: string) => g !== 'mesh'),
  )) {
    for (const route of vs.spec.http ?? []) {
      const service = route.delegate?.name ?? route.route?.[0]?.destination?.host;
      const namespace = route.delegate?.namespace ?? vs.metadata.namespace;
      const canary = objects.find((o) => o.kind === 'Canary' && o.metadata.name === service);
      const port = route.route?.[0]?.destination?.port?.number ?? canary?.spec.service.port ?? 80;
      for (const match of route.match ?? [{ uri: { prefix: '/' } }]) {
        for (const method of ['GET', 'POST']) {
          calls.push({
            what: `ingress gateway routes ${method} ${samplePath(match.uri)}`,
            from: ingressGateway(objects),
            url: `http://${service}.${namespace}:${port}${samplePath(match.uri)}`,
            callerNamespace: namespace,
            method,
          });
        }
      }
    }
  }

  const requests: MeshRequest[] = [];
  const problems: string[] = [];
  for (const call of calls) {
    const landed = landing(call, objects);
    requests.push(...landed.requests);
    problems.push(...landed.problems);
  }

  // The API server calls the admission webhooks of Knative Eventing and of its Kafka extension; it is no pod and
  // has no mesh identity (knative/eventing config/core/deployments/webhook.yaml, eventing-kafka-broker
  // control-plane/config/eventing-kafka-broker/200-webhook/500-webhook.yaml: Service 443 -> pod 8443).
  for (const app of ['eventing-webhook', 'kafka-webhook-eventing']) {
    requests.push({
      what: `the API server calls the admission webhook ${app}`,
      to: { namespace: knativeEventing, labels: { app } },
      port: 8443,
      method: 'POST',
      path: '/',
    });
  }

  // Calls that do not go through a Service: Prometheus scrapes every annotated pod on the port the sidecar
  // injector rewrites prometheus.io/port to (15020, merged metrics), and the kubelet probes every container
  // on the port Istio rewrites HTTP probes to (15021, pilot-agent), or on the probe's own port when a pod
  // turns the rewrite off (sidecar.istio.io/rewriteAppHTTPProbers: "false").
  for (const d of objects.filter((o) => o.kind === 'Deployment')) {
    const template = d.spec.template;
    const annotations = template.metadata?.annotations ?? {};
    const to = workloadOf(d);
    if (annotations['prometheus.io/scrape'] === 'true') {
      // Without merging (istiod meshConfig.enablePrometheusMerge: false) Prometheus scrapes the app's own port.
      const istiod = objects.find((o) => o.kind === 'HelmRelease' && o.spec?.chart?.spec?.chart === 'istiod');
      const merged = istiod?.spec.values?.meshConfig?.enablePrometheusMerge !== false;
      const port = merged ? 15020 : Number(annotations['prometheus.io/port']);
      const path = merged ? '/stats/prometheus' : (annotations['prometheus.io/path'] ?? '/metrics');
      requests.push({
        what: `Prometheus scrapes ${d.metadata.name}`,
        from: prometheus(objects),
        to,
        port,
        method: 'GET',
        path,
      });
    }
    const rewritten = annotations['sidecar.istio.io/rewriteAppHTTPProbers'] !== 'false';
    for (const c of template.spec.containers) {
      for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe].filter((p) => p?.httpGet)) {
        const named = c.ports?.find((p: { name?: string }) => p.name === probe.httpGet.port)?.containerPort;
        requests.push({
          what: `kubelet probes ${d.metadata.name}/${c.name} ${probe.httpGet.path}`,
          to,
          port: rewritten ? 15021 : (named ?? Number(probe.httpGet.port)),
          method: 'GET',
          path: probe.httpGet.path,
        });
      }
    }
  }
  return { requests, problems };
}
