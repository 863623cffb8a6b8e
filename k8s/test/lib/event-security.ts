/**
 * Checks of who may send which event, each returning the problems it finds (empty = fine):
 * the broker's EventPolicies against the catalog's producers, the producers' projected tokens for
 * the broker's audience, the Eventing features they need, and who may POST /events to a service.
 * Why this split between Knative and Istio: docs/security.md, Events.
 */
import {
  brokerAudience,
  deadLetterReplay,
  deadLetterReplayPolicy,
  eventPolicy,
  events,
  findEvent,
  producers,
} from '@soundgood/event-catalog';
import { isKind, type K8sObject } from './manifests.js';

/** Equal as data: kustomize sorts the keys of what it writes. */
const canonical = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(canonical)
    : value && typeof value === 'object'
      ? Object.fromEntries(
          Object.entries(value)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([k, v]) => [k, canonical(v)]),
        )
      : value;
const sameJson = (a: unknown, b: unknown) => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));

/**
 * The EventPolicies of the application are exactly the catalog's (one per producer and the
 * dead-letter replay's, same spec), in
 * the Broker's namespace, and each `from` names an identity that exists: a `sub` a ServiceAccount of
 * that namespace, a `ref` an object of the manifests.
 */
export function eventPoliciesAgainstCatalog(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const broker = objects.find((o) => isKind(o, 'eventing.knative.dev/v1', 'Broker'));
  if (!broker) return ['no Broker'];
  const namespace = broker.metadata.namespace;
  const policies = objects.filter((o) => isKind(o, 'eventing.knative.dev/v1alpha1', 'EventPolicy'));
  const expected = [...producers().map(eventPolicy), deadLetterReplayPolicy()];
  for (const want of expected) {
    const found = policies.find((p) => p.metadata.name === want.metadata.name);
    if (!found) problems.push(`producer policy ${want.metadata.name} is missing`);
    else if (!sameJson(found.spec, want.spec))
      problems.push(`EventPolicy ${want.metadata.name} differs from the catalog's (npm run triggers)`);
  }
  for (const p of policies) {
    // The one policy outside the catalog's: checked on its own by canaryLoadException.
    if (p.metadata.name === canaryLoad.policy) continue;
    if (!expected.some((e) => e.metadata.name === p.metadata.name))
      problems.push(`EventPolicy ${p.metadata.name} matches no producer of the catalog`);
    if (p.metadata.namespace !== namespace)
      problems.push(
        `EventPolicy ${p.metadata.name} is in ${p.metadata.namespace}, the Broker in ${namespace}`,
      );
    for (const from of p.spec?.from ?? []) {
      if (from.sub) {
        const match = /^system:serviceaccount:([^:]+):([^:*]+)$/.exec(from.sub);
        if (!match) {
          problems.push(`EventPolicy ${p.metadata.name}: ${from.sub} is not one ServiceAccount's subject`);
          continue;
        }
        const [, ns, name] = match;
        if (
          !objects.some(
            (o) => o.kind === 'ServiceAccount' && o.metadata.name === name && o.metadata.namespace === ns,
          )
        )
          problems.push(`EventPolicy ${p.metadata.name}: ServiceAccount ${ns}/${name} does not exist`);
      } else if (from.ref) {
        const ns = from.ref.namespace ?? p.metadata.namespace;
        if (
          !objects.some(
            (o) =>
              isKind(o, from.ref.apiVersion, from.ref.kind) &&
              o.metadata.name === from.ref.name &&
              o.metadata.namespace === ns,
          )
        )
          problems.push(
            `EventPolicy ${p.metadata.name}: ${from.ref.kind} ${ns}/${from.ref.name} does not exist`,
          );
      }
    }
  }
  return problems;
}

/**
 * Every Deployment whose ServiceAccount an EventPolicy names mounts a projected token of that
 * account for the Broker's audience, where K_SINK_TOKEN_FILE points; no other Deployment mounts one.
 */
export function producersSendBrokerTokens(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const broker = objects.find((o) => isKind(o, 'eventing.knative.dev/v1', 'Broker'));
  if (!broker) return ['no Broker'];
  const audience = brokerAudience(broker.metadata.namespace);
  const senders = new Set(
    objects
      .filter((o) => isKind(o, 'eventing.knative.dev/v1alpha1', 'EventPolicy'))
      .flatMap((p) => (p.spec?.from ?? []).map((f: { sub?: string }) => f.sub))
      .filter(Boolean),
  );
  for (const d of objects.filter(
    (o) => o.kind === 'Deployment' && o.metadata.namespace === broker.metadata.namespace,
  )) {
    const pod = d.spec.template.spec;
    const sends = senders.has(`system:serviceaccount:${d.metadata.namespace}:${pod.serviceAccountName}`);
    const tokenVolumes = (pod.volumes ?? []).filter(
      (v: { projected?: { sources?: { serviceAccountToken?: { audience?: string } }[] } }) =>
        v.projected?.sources?.some((s) => s.serviceAccountToken?.audience === audience),
    );
    const container = pod.containers[0];
    const tokenFile = (container.env ?? []).find(
      (e: { name: string }) => e.name === 'K_SINK_TOKEN_FILE',
    )?.value;
    if (!sends) {
      if (tokenVolumes.length > 0 || tokenFile)
        problems.push(`Deployment ${d.metadata.name} sends no events but mounts a token for ${audience}`);
      continue;
    }
    const [volume] = tokenVolumes;
    if (!volume) {
      problems.push(
        `Deployment ${d.metadata.name}: no projected ServiceAccount token with audience ${audience}`,
      );
      continue;
    }
    const source = volume.projected.sources.find(
      (s: { serviceAccountToken?: unknown }) => s.serviceAccountToken,
    ).serviceAccountToken;
    if ((source.expirationSeconds ?? 3607) < 600)
      problems.push(
        `Deployment ${d.metadata.name}: expirationSeconds ${source.expirationSeconds} is under the API server's minimum of 600`,
      );
    const mount = (container.volumeMounts ?? []).find((m: { name: string }) => m.name === volume.name);
    if (!mount) problems.push(`Deployment ${d.metadata.name}: volume ${volume.name} is not mounted`);
    else if (tokenFile !== `${mount.mountPath}/${source.path}`)
      problems.push(
        `Deployment ${d.metadata.name}: K_SINK_TOKEN_FILE is ${tokenFile}, the token is at ${mount.mountPath}/${source.path}`,
      );
  }
  return problems;
}

/** The KnativeEventing of the cluster turns on OIDC sender identity with a default for resources without policies. */
export function eventingAuthFeatures(objects: K8sObject[]): string[] {
  const eventing = objects.find((o) => isKind(o, 'operator.knative.dev/v1beta1', 'KnativeEventing'));
  if (!eventing) return ['no KnativeEventing'];
  const features = eventing.spec?.config?.['config-features'] ?? {};
  const problems: string[] = [];
  if (features['authentication-oidc'] !== 'enabled')
    problems.push(`config-features authentication-oidc is ${features['authentication-oidc']}, not enabled`);
  if (
    !['allow-same-namespace', 'deny-all'].includes(
      String(features['default-authorization-mode']).toLowerCase(),
    )
  )
    problems.push(`config-features default-authorization-mode is ${features['default-authorization-mode']}`);
  return problems;
}

/**
 * POST /events of each service: an ALLOW rule that can match it names only the broker dispatcher's
 * principal, or the loadtester restricted to the service's canary host (the canary's acceptance test).
 */
export function eventsOnlyFromDispatcher(
  objects: K8sObject[],
  dispatcher: string,
  loadtester: string,
): string[] {
  const problems: string[] = [];
  // The services' Deployments (an OpenFaaS function's, in openfaas-fn, has no /events).
  const services = objects
    .filter((o) => o.kind === 'Deployment' && o.spec.template.metadata.labels['soundgood.dev/service'])
    .map((d) => d.spec.template.metadata.labels['soundgood.dev/service']);
  for (const service of services) {
    const policies = objects.filter(
      (o) =>
        isKind(o, 'security.istio.io/v1', 'AuthorizationPolicy') &&
        o.spec?.selector?.matchLabels?.['soundgood.dev/service'] === service,
    );
    if (!policies.some((p) => (p.spec.action ?? 'ALLOW') === 'ALLOW'))
      problems.push(`${service}: no ALLOW AuthorizationPolicy, so anyone may POST /events`);
    for (const p of policies.filter((q) => (q.spec.action ?? 'ALLOW') === 'ALLOW'))
      for (const rule of p.spec.rules ?? []) {
        const operations = (rule.to ?? [{ operation: {} }]).map(
          (t: { operation?: Record<string, string[]> }) => t.operation ?? {},
        );
        const reaches = operations.filter(
          (op: Record<string, string[] | undefined>) =>
            (!op.paths ||
              op.paths.some(
                (path) =>
                  path === '/events' ||
                  path === '*' ||
                  (path.endsWith('*') && '/events'.startsWith(path.slice(0, -1))) ||
                  (path.startsWith('*') && '/events'.endsWith(path.slice(1))),
              )) &&
            (!op.methods || op.methods.includes('POST')),
        );
        if (reaches.length === 0) continue;
        const sources = (rule.from ?? [{ source: {} }]).map(
          (f: { source?: { principals?: string[] } }) => f.source ?? {},
        );
        for (const source of sources) {
          const principals: string[] = source.principals ?? ['*'];
          for (const principal of principals) {
            if (principal === dispatcher) continue;
            const canaryOnly = reaches.every(
              (op: { hosts?: string[] }) =>
                op.hosts?.length && op.hosts.every((h) => h.startsWith(`${service}-canary`)),
            );
            if (principal === loadtester && canaryOnly) continue;
            problems.push(
              `${service}: AuthorizationPolicy ${p.metadata.name} lets ${principal} POST /events`,
            );
          }
        }
      }
  }
  return problems;
}

/** The pod templates of the manifests, with where they are and the ServiceAccount they run as. */
function podTemplates(
  objects: K8sObject[],
): { where: string; serviceAccount?: string; pod: K8sObject['spec'] }[] {
  const found: { where: string; serviceAccount?: string; pod: K8sObject['spec'] }[] = [];
  for (const o of objects) {
    const where = `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`;
    const pod =
      o.kind === 'Pod'
        ? o.spec
        : o.kind === 'CronJob'
          ? o.spec?.jobTemplate?.spec?.template?.spec
          : ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'].includes(o.kind)
            ? o.spec?.template?.spec
            : undefined;
    if (pod) found.push({ where, serviceAccount: pod.serviceAccountName, pod });
    if (o.kind === 'HelmRelease')
      found.push({ where, serviceAccount: o.spec?.values?.serviceAccountName, pod: o.spec?.values ?? {} });
  }
  return found;
}

/**
 * The second named exception: dead-letter replay re-sends events under their producers' types and
 * sources, as its own ServiceAccount (events/catalog/src/knative.ts, deadLetterReplay). Pinned here:
 * - its EventPolicy admits that subject only, to the Broker only, through one `any` of `exact` filters
 *   on exactly {type, source}: each a catalog type with its catalog source, every catalog pair once;
 * - no other policy names that subject;
 * - the ServiceAccount exists in the Broker's namespace without an automounted API token, and the only
 *   pod template running as it is the suspended CronJob `dead-letters`, which runs the dead-letters CLI
 *   with a projected token of it for the Broker's audience at K_SINK_TOKEN_FILE, the broker ingress as
 *   K_SINK, and the operator's staff token from a Secret (never a literal in a manifest).
 */
export function deadLetterReplayException(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const broker = objects.find((o) => isKind(o, 'eventing.knative.dev/v1', 'Broker'));
  if (!broker) return ['no Broker'];
  const namespace = broker.metadata.namespace;
  const audience = brokerAudience(namespace);
  const subject = `system:serviceaccount:${namespace}:${deadLetterReplay.serviceAccount}`;
  const policies = objects.filter((o) => isKind(o, 'eventing.knative.dev/v1alpha1', 'EventPolicy'));

  for (const p of policies)
    if (
      p.metadata.name !== deadLetterReplay.policy &&
      (p.spec?.from ?? []).some((f: { sub?: string }) => f.sub === subject)
    )
      problems.push(`EventPolicy ${p.metadata.name} admits ${subject}, only ${deadLetterReplay.policy} may`);
  const policy = policies.find((o) => o.metadata.name === deadLetterReplay.policy);
  const name = `EventPolicy ${deadLetterReplay.policy}`;
  if (!policy) problems.push(`${name} is missing`);
  else {
    if (policy.metadata.namespace !== namespace)
      problems.push(`${name} is in ${policy.metadata.namespace}, the Broker in ${namespace}`);
    const spec = policy.spec ?? {};
    if (
      !sameJson(spec.to, [
        { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: broker.metadata.name } },
      ])
    )
      problems.push(`${name}: to is not the Broker alone`);
    if (!sameJson(spec.from, [{ sub: subject }]))
      problems.push(`${name}: from is not ${subject} alone: ${JSON.stringify(spec.from)}`);
    const filters = spec.filters ?? [];
    if (filters.length !== 1 || !sameJson(Object.keys(filters[0]), ['any']) || !Array.isArray(filters[0].any))
      problems.push(`${name}: filters are not one 'any' of exact filters`);
    else {
      const admitted: string[] = [];
      for (const f of filters[0].any) {
        if (
          !sameJson(Object.keys(f), ['exact']) ||
          !sameJson(Object.keys(f.exact ?? {}).sort(), ['source', 'type'])
        ) {
          problems.push(`${name}: ${JSON.stringify(f)} is not an exact filter on source, type`);
          continue;
        }
        const pair = `${f.exact.type} (source ${f.exact.source})`;
        if (admitted.includes(pair)) problems.push(`${name} admits ${pair} twice`);
        admitted.push(pair);
        if (findEvent(f.exact.type)?.source !== f.exact.source)
          problems.push(`${name} admits ${pair}, which is no catalog type with its source`);
      }
      for (const e of Object.values(events))
        if (!admitted.includes(`${e.type} (source ${e.source})`))
          problems.push(`${name} does not admit ${e.type} (source ${e.source}): it could not be replayed`);
    }
  }

  const account = objects.find(
    (o) =>
      o.kind === 'ServiceAccount' &&
      o.metadata.name === deadLetterReplay.serviceAccount &&
      o.metadata.namespace === namespace,
  );
  if (!account) problems.push(`ServiceAccount ${namespace}/${deadLetterReplay.serviceAccount} is missing`);
  else if (account.automountServiceAccountToken !== false)
    problems.push(`ServiceAccount ${deadLetterReplay.serviceAccount} automounts its API token`);

  const where = `CronJob ${namespace}/${deadLetterReplay.cronJob}`;
  for (const t of podTemplates(objects))
    if (t.serviceAccount === deadLetterReplay.serviceAccount && t.where !== where)
      problems.push(`${t.where} runs as ${deadLetterReplay.serviceAccount}: only ${where} may`);
  const cronJob = objects.find(
    (o) =>
      isKind(o, 'batch/v1', 'CronJob') &&
      o.metadata.name === deadLetterReplay.cronJob &&
      o.metadata.namespace === namespace,
  );
  if (!cronJob) return [...problems, `${where} is missing`];
  if (cronJob.spec.suspend !== true)
    problems.push(`${where} is not suspended: it would replay on a schedule`);
  const pod = cronJob.spec.jobTemplate?.spec?.template?.spec ?? {};
  if (pod.serviceAccountName !== deadLetterReplay.serviceAccount)
    problems.push(`${where} runs as ${pod.serviceAccountName}, not ${deadLetterReplay.serviceAccount}`);
  const container = pod.containers?.[0] ?? {};
  if (!(container.command ?? []).some((c: string) => c.endsWith('dead-letters/dead-letters.cli.js')))
    problems.push(`${where} does not run the dead-letters CLI`);
  const env = new Map<string, { value?: string; valueFrom?: { secretKeyRef?: unknown } }>(
    (container.env ?? []).map((e: { name: string }) => [e.name, e]),
  );
  if (env.get('K_SINK')?.value !== canaryLoad.brokerIngress)
    problems.push(`${where}: K_SINK is ${env.get('K_SINK')?.value}, not the broker ingress`);
  if (!env.get('SOUNDGOOD_OPERATOR_TOKEN')?.valueFrom?.secretKeyRef)
    problems.push(`${where}: SOUNDGOOD_OPERATOR_TOKEN does not come from a Secret`);
  const volume = (pod.volumes ?? []).find(
    (v: { projected?: { sources?: { serviceAccountToken?: { audience?: string } }[] } }) =>
      v.projected?.sources?.some((s) => s.serviceAccountToken?.audience === audience),
  );
  const mount =
    volume && (container.volumeMounts ?? []).find((m: { name: string }) => m.name === volume.name);
  if (!volume || !mount)
    problems.push(`${where}: no mounted projected ServiceAccount token with audience ${audience}`);
  else {
    const source = volume.projected.sources.find(
      (s: { serviceAccountToken?: unknown }) => s.serviceAccountToken,
    ).serviceAccountToken;
    if ((source.expirationSeconds ?? 3607) < 600)
      problems.push(
        `${where}: expirationSeconds ${source.expirationSeconds} is under the API server's minimum of 600`,
      );
    if (env.get('K_SINK_TOKEN_FILE')?.value !== `${mount.mountPath}/${source.path}`)
      problems.push(
        `${where}: K_SINK_TOKEN_FILE is ${env.get('K_SINK_TOKEN_FILE')?.value}, the token is at ${mount.mountPath}/${source.path}`,
      );
  }
  return problems;
}

/**
 * A named exception to "a type comes only from its producer" (the other: deadLetterReplayException):
 * the Flagger loadtester posts
 * each Canary's load event through the broker (canaries.yaml, rollout webhooks). Pinned here, so that
 * widening it is a change to this file, not only to a manifest.
 */
export const canaryLoad = {
  policy: 'canary-load-from-flagger-loadtester',
  serviceAccount: 'flagger-loadtester',
  helmRelease: 'flagger-loadtester',
  /** The aggregate id of every canary probe: no rental has it (rentals get random UUIDs). */
  partitionKey: '00000000-0000-4000-8000-00000000ca11',
  /** Every load event's id starts so; the inbox answers its repeats as duplicates. */
  idPrefix: 'canary-load-',
  brokerIngress: 'http://kafka-broker-ingress.knative-eventing.svc.cluster.local/soundgood/default',
} as const;

type Exact = { type: string; source: string; id: string; partitionkey: string };
const exactKeys = ['id', 'partitionkey', 'source', 'type'];
const describeEvent = (e: Exact) =>
  `${e.type} (source ${e.source}, id ${e.id}, partitionkey ${e.partitionkey})`;

/** The `-H 'name: value'` headers of a shell command line (single or double quoted). */
function headers(cmd: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const m of cmd.matchAll(/-H\s+(?:'([^']*)'|"([^"]*)")/g)) {
    const header = m[1] ?? m[2] ?? '';
    const colon = header.indexOf(':');
    found.set(header.slice(0, colon).trim().toLowerCase(), header.slice(colon + 1).trim());
  }
  return found;
}

/**
 * The loadtester's exception, all of it:
 * - the loadtester's HelmRelease runs as its ServiceAccount and mounts a projected token of it for the
 *   Broker's audience;
 * - every Canary webhook that posts to the broker ingress sends that token as `Authorization: Bearer`
 *   (read with `$(cat ...)`: the loadtester runs `cmd` with `sh -c`), a catalog type with its catalog
 *   source, an id `canary-load-*` and the fixed canary partitionkey;
 * - the EventPolicy admits the loadtester's subject only, to the Broker only, through exactly one `any`
 *   of `exact` filters on exactly {type, source, id, partitionkey}, one per such webhook and no other.
 */
export function canaryLoadException(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const broker = objects.find((o) => isKind(o, 'eventing.knative.dev/v1', 'Broker'));
  if (!broker) return ['no Broker'];
  const namespace = broker.metadata.namespace;
  const audience = brokerAudience(namespace);

  // The loadtester's token.
  const release = objects.find((o) => o.kind === 'HelmRelease' && o.metadata.name === canaryLoad.helmRelease);
  let tokenPath: string | undefined;
  if (!release) problems.push(`no HelmRelease ${canaryLoad.helmRelease}`);
  else {
    const values = release.spec.values ?? {};
    if (values.serviceAccountName !== canaryLoad.serviceAccount)
      problems.push(
        `HelmRelease ${canaryLoad.helmRelease} runs as ${values.serviceAccountName}, not ${canaryLoad.serviceAccount}`,
      );
    const volume = (values.volumes ?? []).find(
      (v: { projected?: { sources?: { serviceAccountToken?: { audience?: string } }[] } }) =>
        v.projected?.sources?.some((s) => s.serviceAccountToken?.audience === audience),
    );
    const mount = volume && (values.volumeMounts ?? []).find((m: { name: string }) => m.name === volume.name);
    if (!volume || !mount)
      problems.push(
        `HelmRelease ${canaryLoad.helmRelease}: no mounted projected ServiceAccount token with audience ${audience}`,
      );
    else {
      const source = volume.projected.sources.find(
        (s: { serviceAccountToken?: unknown }) => s.serviceAccountToken,
      ).serviceAccountToken;
      if ((source.expirationSeconds ?? 3607) < 600)
        problems.push(
          `HelmRelease ${canaryLoad.helmRelease}: expirationSeconds ${source.expirationSeconds} is under the API server's minimum of 600`,
        );
      tokenPath = `${mount.mountPath}/${source.path}`;
    }
  }

  // What the webhooks send through the broker.
  const sent: Exact[] = [];
  for (const canary of objects.filter((o) => isKind(o, 'flagger.app/v1beta1', 'Canary')))
    for (const hook of canary.spec.analysis?.webhooks ?? []) {
      const cmd: string = hook.metadata?.cmd ?? '';
      if (!cmd.includes(canaryLoad.brokerIngress)) continue;
      const where = `Canary ${canary.metadata.name} webhook ${hook.name}`;
      if ((hook.metadata?.type ?? 'cmd') !== 'cmd')
        problems.push(`${where}: type ${hook.metadata.type}, not cmd (run with sh -c)`);
      const h = headers(cmd);
      if (tokenPath && h.get('authorization') !== `Bearer $(cat ${tokenPath})`)
        problems.push(`${where}: no Authorization: Bearer $(cat ${tokenPath})`);
      const event = {
        type: h.get('ce-type') ?? '',
        source: h.get('ce-source') ?? '',
        id: h.get('ce-id') ?? '',
        partitionkey: h.get('ce-partitionkey') ?? '',
      };
      const catalogSource = findEvent(event.type)?.source;
      if (!catalogSource) problems.push(`${where}: ${event.type} is no catalog type`);
      else if (event.source !== catalogSource)
        problems.push(`${where}: source ${event.source}, the catalog's is ${catalogSource}`);
      if (!event.id.startsWith(canaryLoad.idPrefix))
        problems.push(`${where}: id ${event.id} does not start with ${canaryLoad.idPrefix}`);
      if (event.partitionkey !== canaryLoad.partitionKey)
        problems.push(
          `${where}: partitionkey ${event.partitionkey}, not the canary's ${canaryLoad.partitionKey}`,
        );
      sent.push(event);
    }
  if (sent.length === 0) problems.push('no Canary webhook posts to the broker ingress');

  // The policy admits exactly those.
  const policy = objects.find(
    (o) => isKind(o, 'eventing.knative.dev/v1alpha1', 'EventPolicy') && o.metadata.name === canaryLoad.policy,
  );
  if (!policy) return [...problems, `EventPolicy ${canaryLoad.policy} is missing`];
  const name = `EventPolicy ${canaryLoad.policy}`;
  if (policy.metadata.namespace !== namespace)
    problems.push(`${name} is in ${policy.metadata.namespace}, the Broker in ${namespace}`);
  const spec = policy.spec ?? {};
  if (
    !sameJson(spec.to, [
      { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: broker.metadata.name } },
    ])
  )
    problems.push(`${name}: to is not the Broker alone`);
  if (!sameJson(spec.from, [{ sub: `system:serviceaccount:${namespace}:${canaryLoad.serviceAccount}` }]))
    problems.push(`${name}: from is not the loadtester's subject alone: ${JSON.stringify(spec.from)}`);
  const filters = spec.filters ?? [];
  if (filters.length !== 1 || !sameJson(Object.keys(filters[0]), ['any']) || !Array.isArray(filters[0].any)) {
    problems.push(`${name}: filters are not one 'any' of exact filters`);
    return problems;
  }
  const admitted: Exact[] = [];
  for (const f of filters[0].any) {
    const keys = Object.keys(f.exact ?? {}).sort();
    if (!sameJson(Object.keys(f), ['exact']) || !sameJson(keys, exactKeys)) {
      problems.push(`${name}: ${JSON.stringify(f)} is not an exact filter on ${exactKeys.join(', ')}`);
      continue;
    }
    admitted.push(f.exact);
    if (!sent.some((e) => sameJson(e, f.exact)))
      problems.push(`${name} admits ${describeEvent(f.exact)}, which no Canary webhook sends`);
  }
  for (const e of sent)
    if (!admitted.some((a) => sameJson(a, e)))
      problems.push(`${name} does not admit ${describeEvent(e)}, which a Canary webhook sends`);
  return problems;
}
