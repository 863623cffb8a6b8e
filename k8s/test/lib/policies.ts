import type { Subscription } from '@soundgood/event-catalog';
import { isKind, type K8sObject } from './manifests.js';

/**
 * Consistency checks over built manifests. Each returns the violations it finds, one sentence each,
 * so a test can show both that the real manifests have none and that a broken fixture has some.
 */

const appNamespace = 'soundgood';

function named(objects: K8sObject[], apiVersion: string, kind: string): K8sObject[] {
  return objects.filter((o) => isKind(o, apiVersion, kind));
}

function key(o: K8sObject): string {
  return `${o.metadata.namespace ?? appNamespace}/${o.metadata.name}`;
}

/** Both directions: every subscription has its Trigger, every Trigger is a subscription. */
export function triggersAgainstCatalog(
  objects: K8sObject[],
  subscriptions: readonly Subscription[],
): string[] {
  const triggers = new Map(
    named(objects, 'eventing.knative.dev/v1', 'Trigger').map((t) => [t.metadata.name, t]),
  );
  const problems: string[] = [];
  for (const s of subscriptions) {
    const trigger = triggers.get(s.name);
    if (!trigger) {
      problems.push(`subscription ${s.name} has no Trigger`);
      continue;
    }
    const type = trigger.spec.filter?.attributes?.type;
    if (type !== s.event.type)
      problems.push(`Trigger ${s.name} filters type ${type}, the catalog says ${s.event.type}`);
    if (Object.keys(trigger.spec.filter?.attributes ?? {}).length !== 1) {
      problems.push(`Trigger ${s.name} filters on more than the type`);
    }
    const ref = trigger.spec.subscriber?.ref;
    if (ref?.kind !== 'Service' || ref?.name !== s.service || trigger.spec.subscriber?.uri !== '/events') {
      problems.push(`Trigger ${s.name} does not deliver to Service ${s.service} at /events`);
    }
    const ordered = trigger.metadata.annotations?.['kafka.eventing.knative.dev/delivery.order'] === 'ordered';
    if (ordered !== s.ordered)
      problems.push(`Trigger ${s.name} ordered delivery is ${ordered}, the catalog says ${s.ordered}`);
  }
  const known = new Set(subscriptions.map((s) => s.name));
  for (const name of triggers.keys()) {
    if (!known.has(name)) problems.push(`Trigger ${name} matches no subscription of the catalog`);
  }
  return problems;
}

/** The subscriber of every Trigger is a Service of the build that exposes the service's http port. */
export function triggerSubscribersExist(objects: K8sObject[]): string[] {
  const services = new Map(named(objects, 'v1', 'Service').map((s) => [key(s), s]));
  return named(objects, 'eventing.knative.dev/v1', 'Trigger').flatMap((trigger) => {
    const ref = trigger.spec.subscriber?.ref ?? {};
    const service = services.get(
      `${ref.namespace ?? trigger.metadata.namespace ?? appNamespace}/${ref.name}`,
    );
    if (!service) return [`Trigger ${trigger.metadata.name}: subscriber Service ${ref.name} does not exist`];
    const port = (service.spec.ports ?? []).find((p: { name?: string }) => p.name === 'http');
    if (!port) return [`Trigger ${trigger.metadata.name}: Service ${ref.name} exposes no port named http`];
    return [];
  });
}

/** Every delivery (Broker default and each Trigger) ends in the dead-letter KafkaSink. */
export function deadLettersGoToKafkaSink(objects: K8sObject[]): string[] {
  const sinks = new Map(
    named(objects, 'eventing.knative.dev/v1alpha1', 'KafkaSink').map((s) => [s.metadata.name, s]),
  );
  const holders = [
    ...named(objects, 'eventing.knative.dev/v1', 'Broker'),
    ...named(objects, 'eventing.knative.dev/v1', 'Trigger'),
  ];
  return holders.flatMap((o) => {
    const ref = o.spec.delivery?.deadLetterSink?.ref;
    const sink = ref?.kind === 'KafkaSink' ? sinks.get(ref.name) : undefined;
    if (!sink) return [`${o.kind} ${o.metadata.name} has no KafkaSink as dead-letter sink`];
    if (sink.spec.topic !== 'soundgood.dead-letters')
      return [`KafkaSink ${sink.metadata.name} does not write soundgood.dead-letters`];
    return [];
  });
}

/** Every Deployment of the application is progressively delivered by a Canary that targets it. */
export function deploymentsHaveCanaries(objects: K8sObject[]): string[] {
  const targets = new Set(
    named(objects, 'flagger.app/v1beta1', 'Canary')
      .filter((c) => c.spec.targetRef?.kind === 'Deployment')
      .map((c) => `${c.metadata.namespace ?? appNamespace}/${c.spec.targetRef.name}`),
  );
  return named(objects, 'apps/v1', 'Deployment')
    .filter((d) => (d.metadata.namespace ?? appNamespace) === appNamespace)
    .filter((d) => !targets.has(key(d)))
    .map((d) => `Deployment ${d.metadata.name} has no Canary`);
}

/** Every Canary's target, autoscaler and metric template exist in the build. */
export function canaryReferencesExist(objects: K8sObject[]): string[] {
  const has = (apiVersion: string, kind: string, name: string) =>
    objects.some((o) => isKind(o, apiVersion, kind) && o.metadata.name === name);
  return named(objects, 'flagger.app/v1beta1', 'Canary').flatMap((c) => {
    const problems: string[] = [];
    const t = c.spec.targetRef;
    if (!has(t.apiVersion, t.kind, t.name))
      problems.push(`Canary ${c.metadata.name}: target ${t.kind} ${t.name} does not exist`);
    const a = c.spec.autoscalerRef;
    if (a && !has(a.apiVersion, a.kind, a.name))
      problems.push(`Canary ${c.metadata.name}: autoscaler ${a.name} does not exist`);
    for (const m of c.spec.analysis?.metrics ?? []) {
      if (m.templateRef && !has('flagger.app/v1beta1', 'MetricTemplate', m.templateRef.name)) {
        problems.push(`Canary ${c.metadata.name}: MetricTemplate ${m.templateRef.name} does not exist`);
      }
    }
    return problems;
  });
}

/** Probes, requests and limits, a non-root read-only container, named ports http and http-metrics. */
export function deploymentsAreHardened(objects: K8sObject[]): string[] {
  return named(objects, 'apps/v1', 'Deployment').flatMap((d) => {
    const pod = d.spec.template.spec;
    const problems: string[] = [];
    const say = (what: string) => problems.push(`Deployment ${d.metadata.name}: ${what}`);
    if (pod.securityContext?.runAsNonRoot !== true) say('pod does not require runAsNonRoot');
    if (d.spec.strategy?.rollingUpdate?.maxUnavailable !== 0) say('maxUnavailable is not 0');
    if (!d.spec.minReadySeconds) say('no minReadySeconds');
    if (!d.spec.progressDeadlineSeconds) say('no progressDeadlineSeconds');
    for (const c of pod.containers) {
      if (c.readinessProbe?.httpGet?.path !== '/readyz')
        say(`container ${c.name} has no readiness probe on /readyz`);
      if (c.livenessProbe?.httpGet?.path !== '/healthz')
        say(`container ${c.name} has no liveness probe on /healthz`);
      for (const resource of ['cpu', 'memory']) {
        if (!c.resources?.requests?.[resource]) say(`container ${c.name} requests no ${resource}`);
      }
      if (!c.resources?.limits?.memory) say(`container ${c.name} has no memory limit`);
      if (c.securityContext?.readOnlyRootFilesystem !== true)
        say(`container ${c.name} root filesystem is writable`);
      if (c.securityContext?.allowPrivilegeEscalation !== false)
        say(`container ${c.name} allows privilege escalation`);
      if (!c.securityContext?.capabilities?.drop?.includes('ALL'))
        say(`container ${c.name} keeps capabilities`);
      const ports = new Set((c.ports ?? []).map((p: { name?: string }) => p.name));
      for (const port of ['http', 'http-metrics'])
        if (!ports.has(port)) say(`container ${c.name} has no port ${port}`);
    }
    return problems;
  });
}

/** Secrets in git are SOPS-encrypted: every value ENC[...] and the sops metadata present. */
export function noPlaintextSecrets(objects: K8sObject[]): string[] {
  return named(objects, 'v1', 'Secret').flatMap((s) => {
    const values = Object.values({ ...(s.data ?? {}), ...(s.stringData ?? {}) }) as string[];
    const encrypted = s.sops !== undefined && values.every((v) => /^ENC\[AES256_GCM,/.test(String(v)));
    return encrypted ? [] : [`Secret ${s.metadata.name} is not SOPS-encrypted`];
  });
}

/** Flux dependsOn: every name exists among the cluster's Kustomizations, and there is no cycle. */
export function fluxDependencies(kustomizations: K8sObject[]): string[] {
  const deps = new Map(
    kustomizations.map((k) => [
      k.metadata.name,
      (k.spec.dependsOn ?? []).map((d: { name: string }) => d.name) as string[],
    ]),
  );
  const problems: string[] = [];
  for (const [name, needs] of deps) {
    for (const need of needs)
      if (!deps.has(need)) problems.push(`Kustomization ${name} depends on missing ${need}`);
  }
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]): void => {
    if (state.get(name) === 'done' || !deps.has(name)) return;
    if (state.get(name) === 'visiting') {
      problems.push(`dependency cycle: ${[...path.slice(path.indexOf(name)), name].join(' -> ')}`);
      return;
    }
    state.set(name, 'visiting');
    for (const need of deps.get(name) ?? []) visit(need, [...path, name]);
    state.set(name, 'done');
  };
  for (const name of deps.keys()) visit(name, []);
  return problems;
}

/** Image tags of Soundgood images are set only at lines carrying a Flux image-policy marker. */
export function imageSetterMarkers(file: string, text: string, policies: Set<string>): string[] {
  const problems: string[] = [];
  const lines = text.split('\n');
  lines.forEach((line, index) => {
    const image = /^\s*(?:-\s*)?(?:image|name):\s*(ghcr\.io\/soundgood\/([a-z-]+))(:\S+)?/.exec(line);
    if (!image) return;
    const [, , repository, tag] = image;
    // A service's -migrate image is released with it and follows the service's policy.
    const service = repository?.replace(/-migrate$/, '');
    const where = `${file}:${index + 1}`;
    if (/^\s*(?:-\s*)?image:/.test(line)) {
      if (tag)
        problems.push(`${where}: image ${image[1]}${tag} pins a tag outside an environment's images list`);
      return;
    }
    const newTag = lines[index + 1] ?? '';
    const marker = /newTag:\s*\S+\s*#\s*\{"\$imagepolicy":\s*"flux-system:([a-z-]+):tag"\}/.exec(newTag);
    if (!marker) problems.push(`${where}: ${image[1]} has no newTag with an $imagepolicy marker`);
    else if (marker[1] !== service) problems.push(`${where}: ${image[1]} is marked with policy ${marker[1]}`);
    else if (!policies.has(service as string))
      problems.push(`${where}: ImagePolicy ${service} does not exist`);
  });
  return problems;
}

/**
 * Every principal of the application namespace named by an AuthorizationPolicy is a ServiceAccount
 * of the build, and every workload runs as its own ServiceAccount: a renamed account must not
 * silently lose (or grant) access.
 */
export function principalsExist(objects: K8sObject[]): string[] {
  const accounts = new Set(named(objects, 'v1', 'ServiceAccount').map(key));
  const problems: string[] = [];
  for (const policy of named(objects, 'security.istio.io/v1', 'AuthorizationPolicy')) {
    const principals: string[] = (policy.spec.rules ?? []).flatMap(
      (r: { from?: { source: { principals?: string[] } }[] }) =>
        r.from?.flatMap((f) => f.source.principals ?? []) ?? [],
    );
    for (const principal of principals) {
      const match = /^cluster\.local\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(principal);
      if (!match)
        problems.push(`AuthorizationPolicy ${policy.metadata.name}: malformed principal ${principal}`);
      else if (match[1] === appNamespace && !accounts.has(`${match[1]}/${match[2]}`)) {
        problems.push(
          `AuthorizationPolicy ${policy.metadata.name}: ServiceAccount ${match[2]} does not exist`,
        );
      }
    }
  }
  for (const d of named(objects, 'apps/v1', 'Deployment')) {
    const account = d.spec.template.spec.serviceAccountName;
    if (!account || !accounts.has(`${d.metadata.namespace ?? appNamespace}/${account}`)) {
      problems.push(`Deployment ${d.metadata.name} does not run as its own ServiceAccount`);
    }
  }
  return problems;
}
