import { deadLetterReplay, events } from '@soundgood/event-catalog';
import { describe, expect, it } from 'vitest';
import {
  canaryLoad,
  canaryLoadException,
  deadLetterReplayException,
  eventingAuthFeatures,
  eventPoliciesAgainstCatalog,
  eventsOnlyFromDispatcher,
  producersSendBrokerTokens,
} from './lib/event-security.js';
import { environments, fluxCluster, isKind, type K8sObject, kustomize } from './lib/manifests.js';
import { authzRefuses, type MeshRequest, mtlsRefuses } from './lib/mesh.js';

const dispatcher = 'cluster.local/ns/knative-eventing/sa/knative-kafka-broker-data-plane';
const loadtester = 'cluster.local/ns/soundgood/sa/flagger-loadtester';

/** A Job made from the dead-letters CronJob posting to the broker ingress (port 8080 of the receiver). */
function replayRequest(objects: K8sObject[]): MeshRequest {
  const cronJob = objects.find(
    (o) => o.kind === 'CronJob' && o.metadata.name === deadLetterReplay.cronJob,
  ) as K8sObject;
  const template = cronJob.spec.jobTemplate.spec.template;
  return {
    what: 'dead-letters replay publishes',
    from: {
      namespace: cronJob.metadata.namespace ?? 'soundgood',
      labels: template.metadata.labels,
      annotations: template.metadata.annotations,
      serviceAccount: template.spec.serviceAccountName,
    },
    to: {
      namespace: 'knative-eventing',
      labels: { app: 'kafka-broker-receiver' },
      serviceAccount: 'knative-kafka-broker-data-plane',
    },
    port: 8080,
    method: 'POST',
    path: '/soundgood/default',
  };
}

describe.each(environments)('who may send which event in %s', (env) => {
  const app = kustomize(`k8s/environments/${env}/apps`);

  it('has exactly the catalog’s EventPolicies on the Broker, each naming an existing sender', () => {
    expect(eventPoliciesAgainstCatalog(app)).toEqual([]);
    expect(app.filter((o) => o.kind === 'EventPolicy').length).toBeGreaterThan(0);
  });

  it('admits the loadtester, the one sender that is no producer, only the Canaries’ load events, with its token', () => {
    expect(canaryLoadException(app)).toEqual([]);
    const policy = app.find((o) => o.kind === 'EventPolicy' && o.metadata.name === canaryLoad.policy);
    expect(policy?.spec.filters[0].any).toHaveLength(app.filter((o) => o.kind === 'Canary').length);
  });

  it('admits dead-letter replay, the other sender that is no producer, exactly the catalog’s types with their sources, from its own ServiceAccount', () => {
    expect(deadLetterReplayException(app)).toEqual([]);
    const policy = app.find((o) => o.kind === 'EventPolicy' && o.metadata.name === deadLetterReplay.policy);
    expect(policy?.spec.filters[0].any).toHaveLength(Object.keys(events).length);
  });

  it('lets a replay Job through the broker ingress’s sidecar: meshed, and its ServiceAccount allowed to POST', () => {
    const objects = fluxCluster(env).layers.flatMap((l) => l.objects);
    const request = replayRequest(objects);
    expect(request.from?.annotations?.['sidecar.istio.io/nativeSidecar']).toBe('true');
    expect([...mtlsRefuses(request, objects), ...authzRefuses(request, objects)]).toEqual([]);
  });

  it('gives every producer a projected token for the Broker’s audience at K_SINK_TOKEN_FILE, and no one else', () => {
    expect(producersSendBrokerTokens(app)).toEqual([]);
  });

  it('turns on OIDC sender identity in the Knative Eventing it installs', () => {
    const objects = fluxCluster(env).layers.flatMap((l) => l.objects);
    expect(eventingAuthFeatures(objects)).toEqual([]);
  });

  it('lets only the broker dispatcher POST /events, and the loadtester on the canary host', () => {
    expect(eventsOnlyFromDispatcher(app, dispatcher, loadtester)).toEqual([]);
  });
});

describe('the event-security checks catch broken manifests', () => {
  const app = kustomize('k8s/environments/production/apps');
  const eventing = kustomize('k8s/infrastructure/eventing');
  const replace = (objects: K8sObject[], pick: (o: K8sObject) => boolean, change: (o: K8sObject) => void) =>
    objects.map((o) => {
      if (!pick(o)) return o;
      const copy = structuredClone(o);
      change(copy);
      return copy;
    });
  const policy = (name: string) => (o: K8sObject) => o.kind === 'EventPolicy' && o.metadata.name === name;

  it('reports a missing policy, a widened one, an unknown one and a sender without ServiceAccount', () => {
    expect(eventPoliciesAgainstCatalog(app.filter((o) => !policy('events-from-billing')(o)))).toEqual([
      'producer policy events-from-billing is missing',
    ]);
    const widened = replace(app, policy('events-from-students'), (p) =>
      p.spec.from.push({ sub: 'system:serviceaccount:soundgood:notifications' }),
    );
    expect(eventPoliciesAgainstCatalog(widened)).toEqual([
      "EventPolicy events-from-students differs from the catalog's (npm run triggers)",
    ]);
    const invented = structuredClone(app.find(policy('events-from-students')) as K8sObject);
    invented.metadata.name = 'events-from-anyone';
    invented.spec.from = [{ sub: 'system:serviceaccount:soundgood:ghost' }];
    expect(eventPoliciesAgainstCatalog([...app, invented])).toEqual([
      'EventPolicy events-from-anyone matches no producer of the catalog',
      'EventPolicy events-from-anyone: ServiceAccount soundgood/ghost does not exist',
    ]);
  });

  it('reports a widened canary exception: another partitionkey, id or type, an unpinned extension, another sender or filter', () => {
    const canary = policy(canaryLoad.policy);
    const exactOf = (p: K8sObject, i: number) => p.spec.filters[0].any[i].exact;
    const name = `EventPolicy ${canaryLoad.policy}`;
    const anyKey = replace(app, canary, (p) => {
      delete exactOf(p, 0).partitionkey;
    });
    expect(canaryLoadException(anyKey)).toEqual([
      `${name}: {"exact":{"id":"canary-load-rentals","source":"/soundgood/students","type":"dev.soundgood.students.slot.released.v1"}} is not an exact filter on id, partitionkey, source, type`,
      `${name} does not admit dev.soundgood.students.slot.released.v1 (source /soundgood/students, id canary-load-rentals, partitionkey ${canaryLoad.partitionKey}), which a Canary webhook sends`,
    ]);
    const realRental = replace(app, canary, (p) => {
      exactOf(p, 3).partitionkey = '3f1c2a7e-0000-4000-8000-000000000001';
    });
    expect(canaryLoadException(realRental)).toEqual([
      `${name} admits dev.soundgood.billing.payment.refund.v1 (source /soundgood/rentals, id canary-load-billing, partitionkey 3f1c2a7e-0000-4000-8000-000000000001), which no Canary webhook sends`,
      `${name} does not admit dev.soundgood.billing.payment.refund.v1 (source /soundgood/rentals, id canary-load-billing, partitionkey ${canaryLoad.partitionKey}), which a Canary webhook sends`,
    ]);
    const extraType = replace(app, canary, (p) => {
      p.spec.filters[0].any.push({
        exact: { ...exactOf(p, 1), type: 'dev.soundgood.students.slot.reserve.v1', id: 'canary-load-x' },
      });
    });
    expect(canaryLoadException(extraType)).toEqual([
      `${name} admits dev.soundgood.students.slot.reserve.v1 (source /soundgood/rentals, id canary-load-x, partitionkey ${canaryLoad.partitionKey}), which no Canary webhook sends`,
    ]);
    const prefix = replace(app, canary, (p) => {
      p.spec.filters[0].any[2] = { prefix: { type: 'dev.soundgood.' } };
    });
    expect(canaryLoadException(prefix)[0]).toBe(
      `${name}: {"prefix":{"type":"dev.soundgood."}} is not an exact filter on id, partitionkey, source, type`,
    );
    const cesql = replace(app, canary, (p) => {
      p.spec.filters = [{ cesql: "partitionkey = '00000000-0000-4000-8000-00000000ca11'" }];
    });
    expect(canaryLoadException(cesql)).toEqual([`${name}: filters are not one 'any' of exact filters`]);
    const twoSenders = replace(app, canary, (p) => {
      p.spec.from.push({ sub: 'system:serviceaccount:soundgood:notifications' });
      delete p.spec.to;
    });
    expect(canaryLoadException(twoSenders)).toEqual([
      `${name}: to is not the Broker alone`,
      `${name}: from is not the loadtester's subject alone: [{"sub":"system:serviceaccount:soundgood:flagger-loadtester"},{"sub":"system:serviceaccount:soundgood:notifications"}]`,
    ]);
    expect(eventPoliciesAgainstCatalog(app.filter((o) => !canary(o)))).toEqual([]);
    expect(canaryLoadException(app.filter((o) => !canary(o)))).toEqual([`${name} is missing`]);
  });

  it('reports a widened replay exception: a type off the catalog or under another source, a pair left out, another sender, another filter, another workload as its account', () => {
    const replay = policy(deadLetterReplay.policy);
    const name = `EventPolicy ${deadLetterReplay.policy}`;
    const subject = `system:serviceaccount:soundgood:${deadLetterReplay.serviceAccount}`;
    const reserve = events.reserveSlot;
    const forged = replace(app, replay, (p) => {
      p.spec.filters[0].any.push({ exact: { type: reserve.type, source: '/soundgood/students' } });
      p.spec.filters[0].any.push({
        exact: { type: 'dev.soundgood.anything.v1', source: '/soundgood/rentals' },
      });
    });
    expect(deadLetterReplayException(forged)).toEqual([
      `${name} admits ${reserve.type} (source /soundgood/students), which is no catalog type with its source`,
      `${name} admits dev.soundgood.anything.v1 (source /soundgood/rentals), which is no catalog type with its source`,
    ]);
    const narrowed = replace(app, replay, (p) => {
      p.spec.filters[0].any = p.spec.filters[0].any.filter(
        (f: { exact: { type: string } }) => f.exact.type !== reserve.type,
      );
    });
    expect(deadLetterReplayException(narrowed)).toEqual([
      `${name} does not admit ${reserve.type} (source ${reserve.source}): it could not be replayed`,
    ]);
    const typeOnly = replace(app, replay, (p) => {
      p.spec.filters[0].any[0] = { exact: { type: reserve.type } };
    });
    expect(deadLetterReplayException(typeOnly)[0]).toBe(
      `${name}: {"exact":{"type":"${reserve.type}"}} is not an exact filter on source, type`,
    );
    const prefix = replace(app, replay, (p) => {
      p.spec.filters = [{ prefix: { type: 'dev.soundgood.' } }];
    });
    expect(deadLetterReplayException(prefix)).toEqual([
      `${name}: filters are not one 'any' of exact filters`,
    ]);
    const twoSenders = replace(app, replay, (p) => {
      p.spec.from.push({ sub: 'system:serviceaccount:soundgood:notifications' });
    });
    expect(deadLetterReplayException(twoSenders)).toEqual([
      `${name}: from is not ${subject} alone: [{"sub":"${subject}"},{"sub":"system:serviceaccount:soundgood:notifications"}]`,
    ]);
    expect(eventPoliciesAgainstCatalog(twoSenders)).toEqual([
      `EventPolicy ${deadLetterReplay.policy} differs from the catalog's (npm run triggers)`,
    ]);
    const elsewhere = replace(app, policy('events-from-rentals'), (p) => {
      p.spec.from.push({ sub: subject });
    });
    expect(deadLetterReplayException(elsewhere)).toEqual([
      `EventPolicy events-from-rentals admits ${subject}, only ${deadLetterReplay.policy} may`,
    ]);
    const borrowed = replace(
      app,
      (o) => o.kind === 'Deployment' && o.metadata.name === 'notifications',
      (d) => {
        d.spec.template.spec.serviceAccountName = deadLetterReplay.serviceAccount;
      },
    );
    expect(deadLetterReplayException(borrowed)).toEqual([
      `Deployment soundgood/notifications runs as ${deadLetterReplay.serviceAccount}: only CronJob soundgood/${deadLetterReplay.cronJob} may`,
    ]);
    const cronJob = (o: K8sObject) => o.kind === 'CronJob' && o.metadata.name === deadLetterReplay.cronJob;
    const scheduled = replace(app, cronJob, (c) => {
      c.spec.suspend = false;
      const pod = c.spec.jobTemplate.spec.template.spec;
      pod.volumes = pod.volumes.filter((v: { name: string }) => v.name !== 'broker-token');
      const operator = pod.containers[0].env.find(
        (e: { name: string }) => e.name === 'SOUNDGOOD_OPERATOR_TOKEN',
      );
      delete operator.valueFrom;
      operator.value = 'eyJ.staff';
    });
    expect(deadLetterReplayException(scheduled)).toEqual([
      `CronJob soundgood/${deadLetterReplay.cronJob} is not suspended: it would replay on a schedule`,
      `CronJob soundgood/${deadLetterReplay.cronJob}: SOUNDGOOD_OPERATOR_TOKEN does not come from a Secret`,
      `CronJob soundgood/${deadLetterReplay.cronJob}: no mounted projected ServiceAccount token with audience eventing.knative.dev/broker/soundgood/default`,
    ]);
    const cluster = fluxCluster('production').layers.flatMap((l) => l.objects);
    const unlisted = replace(
      cluster,
      (o) => o.kind === 'AuthorizationPolicy' && o.metadata.name === 'kafka-broker-receiver',
      (p) => {
        p.spec.rules[0].from[0].source.principals = p.spec.rules[0].from[0].source.principals.filter(
          (q: string) => !q.endsWith(`/sa/${deadLetterReplay.serviceAccount}`),
        );
      },
    );
    expect(authzRefuses(replayRequest(unlisted), unlisted)).toEqual([
      `dead-letters replay publishes: no rule of AuthorizationPolicy kafka-broker-receiver allows POST /soundgood/default on port 8080 from cluster.local/ns/soundgood/sa/${deadLetterReplay.serviceAccount}`,
    ]);
    expect(deadLetterReplayException(app.filter((o) => !replay(o)))).toEqual([`${name} is missing`]);
    expect(eventPoliciesAgainstCatalog(app.filter((o) => !replay(o)))).toEqual([
      `producer policy ${deadLetterReplay.policy} is missing`,
    ]);
  });

  it('reports canary load sent without the loadtester’s token or off the pinned event', () => {
    const release = (o: K8sObject) => o.kind === 'HelmRelease' && o.metadata.name === canaryLoad.helmRelease;
    const tokenless = replace(app, release, (r) => {
      delete r.spec.values.volumes;
    });
    expect(canaryLoadException(tokenless)).toEqual([
      'HelmRelease flagger-loadtester: no mounted projected ServiceAccount token with audience eventing.knative.dev/broker/soundgood/default',
    ]);
    const loadEvents = (canary: K8sObject) =>
      canary.spec.analysis.webhooks.find((w: { name: string }) => w.name === 'load-events');
    const anonymous = replace(
      app,
      (o) => o.kind === 'Canary' && o.metadata.name === 'students',
      (c) => {
        const hook = loadEvents(c);
        hook.metadata.cmd = hook.metadata.cmd.replace(/-H "Authorization: [^"]*" /, '');
      },
    );
    expect(canaryLoadException(anonymous)).toEqual([
      'Canary students webhook load-events: no Authorization: Bearer $(cat /var/run/secrets/soundgood/broker/token)',
    ]);
    const moved = replace(
      app,
      (o) => o.kind === 'Canary' && o.metadata.name === 'inventory',
      (c) => {
        const hook = loadEvents(c);
        hook.metadata.cmd = hook.metadata.cmd.replace(
          `ce-partitionkey: ${canaryLoad.partitionKey}`,
          'ce-partitionkey: 3f1c2a7e-0000-4000-8000-000000000001',
        );
      },
    );
    expect(canaryLoadException(moved)).toEqual([
      `Canary inventory webhook load-events: partitionkey 3f1c2a7e-0000-4000-8000-000000000001, not the canary's ${canaryLoad.partitionKey}`,
      `EventPolicy ${canaryLoad.policy} admits dev.soundgood.inventory.instrument.release.v1 (source /soundgood/rentals, id canary-load-inventory, partitionkey ${canaryLoad.partitionKey}), which no Canary webhook sends`,
      `EventPolicy ${canaryLoad.policy} does not admit dev.soundgood.inventory.instrument.release.v1 (source /soundgood/rentals, id canary-load-inventory, partitionkey 3f1c2a7e-0000-4000-8000-000000000001), which a Canary webhook sends`,
    ]);
  });

  it('reports a producer without its token, a wrong audience, a token path apart from K_SINK_TOKEN_FILE and a consumer with one', () => {
    const deployment = (name: string) => (o: K8sObject) =>
      o.kind === 'Deployment' && o.metadata.name === name;
    const tokenless = replace(app, deployment('rentals'), (d) => {
      d.spec.template.spec.volumes = d.spec.template.spec.volumes.filter(
        (v: { name: string }) => v.name !== 'broker-token',
      );
    });
    expect(producersSendBrokerTokens(tokenless)).toEqual([
      'Deployment rentals: no projected ServiceAccount token with audience eventing.knative.dev/broker/soundgood/default',
    ]);
    const otherAudience = replace(app, deployment('billing'), (d) => {
      const volume = d.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'broker-token');
      volume.projected.sources[0].serviceAccountToken.audience = 'soundgood';
    });
    expect(producersSendBrokerTokens(otherAudience)).toEqual([
      'Deployment billing: no projected ServiceAccount token with audience eventing.knative.dev/broker/soundgood/default',
    ]);
    const elsewhere = replace(app, deployment('students'), (d) => {
      const env = d.spec.template.spec.containers[0].env.find(
        (e: { name: string }) => e.name === 'K_SINK_TOKEN_FILE',
      );
      env.value = '/var/run/secrets/kubernetes.io/serviceaccount/token';
    });
    expect(producersSendBrokerTokens(elsewhere)).toEqual([
      'Deployment students: K_SINK_TOKEN_FILE is /var/run/secrets/kubernetes.io/serviceaccount/token, the token is at /var/run/secrets/soundgood/broker/token',
    ]);
    const rentals = app.find(deployment('rentals')) as K8sObject;
    const consumer = replace(app, deployment('notifications'), (d) => {
      d.spec.template.spec.volumes.push(
        rentals.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'broker-token'),
      );
    });
    expect(producersSendBrokerTokens(consumer)).toEqual([
      'Deployment notifications sends no events but mounts a token for eventing.knative.dev/broker/soundgood/default',
    ]);
  });

  it('reports OIDC left disabled and an unknown default authorization mode', () => {
    const off = replace(
      eventing,
      (o) => isKind(o, 'operator.knative.dev/v1beta1', 'KnativeEventing'),
      (o) => {
        o.spec.config['config-features']['authentication-oidc'] = 'disabled';
        o.spec.config['config-features']['default-authorization-mode'] = 'allow-all';
      },
    );
    expect(eventingAuthFeatures(off)).toEqual([
      'config-features authentication-oidc is disabled, not enabled',
      'config-features default-authorization-mode is allow-all',
    ]);
  });

  it('reports a policy that lets the gateway or the loadtester POST /events on the primary', () => {
    const open = replace(
      app,
      (o) => o.kind === 'AuthorizationPolicy' && o.metadata.name === 'students',
      (p) => {
        p.spec.rules[2].to[0].operation.paths.push('/events');
        delete p.spec.rules[1].to[0].operation.hosts;
      },
    );
    expect(eventsOnlyFromDispatcher(open, dispatcher, loadtester)).toEqual([
      `students: AuthorizationPolicy students lets ${loadtester} POST /events`,
      'students: AuthorizationPolicy students lets cluster.local/ns/istio-ingress/sa/istio-ingressgateway POST /events',
    ]);
    const none = app.filter((o) => !(o.kind === 'AuthorizationPolicy' && o.metadata.name === 'billing'));
    expect(eventsOnlyFromDispatcher(none, dispatcher, loadtester)).toEqual([
      'billing: no ALLOW AuthorizationPolicy, so anyone may POST /events',
    ]);
  });
});
