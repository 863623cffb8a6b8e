/**
 * Knative Eventing derived from the catalog: from its `subscriptions`, in the two forms the Kafka
 * broker takes them, the Triggers of the cluster (`k8s/base/eventing/triggers.yaml`) and the data
 * plane's contract; from its producers, the broker's EventPolicies
 * (`k8s/base/eventing/event-policies.yaml`). Both files are written by
 * `npm run triggers -w @soundgood/event-catalog`. The contract is the file the
 * broker's receiver and dispatcher read, which in a cluster the Kafka controller writes from the
 * Broker and its Triggers. Locally `scripts/infra/knative.ts` runs the data plane on `knativeContract(...)`.
 *
 * The contract follows what the controller does with a Trigger (eventing-kafka-broker
 * control-plane/pkg/reconciler/trigger, core/config/utils.go at knative-v1.23.0): one egress per
 * Trigger, consumer group `knative-trigger-<namespace>-<name>`, the filter's attributes as an exact
 * filter, replies into the broker's own topic, delivery order from the
 * `kafka.eventing.knative.dev/delivery.order` annotation, and the Trigger's delivery (retry, backoff
 * policy, ISO-8601 backoff delay in milliseconds, dead-letter sink URL). Schema: proto/contract.proto.
 */
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { events, type ServiceName, type Subscription, services, subscriptions } from './catalog.js';

/** What every Trigger (and the Broker, by default) does with an event its subscriber fails. */
export const delivery = {
  // 6 retries at 0.5 s * 2^n wait about 32 s in total. An ordered Trigger holds its partition while
  // it retries, so a longer budget would stall every later event of the same partition.
  retry: 6,
  backoffPolicy: 'exponential',
  backoffDelay: 'PT0.5S',
  /** The KafkaSink that keeps dead letters, and its topic (also the Kafka transport's). */
  deadLetterSink: { name: 'dead-letters', topic: 'soundgood.dead-letters' },
} as const;

export const broker = { name: 'default' } as const;
/** The path every subscriber receives its Trigger's deliveries on. */
export const subscriberPath = '/events';
export const deliveryOrderAnnotation = 'kafka.eventing.knative.dev/delivery.order';

/** `PT0.5S` -> 500. Only the designators Knative's delivery durations use (days, hours, minutes, seconds). */
export function isoDurationMs(duration: string): number {
  const match = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(duration);
  if (!match || duration === 'P' || duration.endsWith('T'))
    throw new Error(`not an ISO-8601 duration: ${duration}`);
  const [, d = '0', h = '0', m = '0', s = '0'] = match;
  return Math.round(((Number(d) * 24 + Number(h)) * 60 + Number(m)) * 60_000 + Number(s) * 1000);
}

/** The Trigger of one subscription, as applied to the cluster (namespace set by kustomize). */
export function trigger(subscription: Subscription) {
  return {
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Trigger',
    metadata: {
      name: subscription.name,
      annotations: { [deliveryOrderAnnotation]: subscription.ordered ? 'ordered' : 'unordered' },
    },
    spec: {
      broker: broker.name,
      filter: { attributes: { type: subscription.event.type } },
      subscriber: {
        ref: { apiVersion: 'v1', kind: 'Service', name: subscription.service },
        uri: subscriberPath,
      },
      delivery: {
        deadLetterSink: {
          ref: {
            apiVersion: 'eventing.knative.dev/v1alpha1',
            kind: 'KafkaSink',
            name: delivery.deadLetterSink.name,
          },
        },
        retry: delivery.retry,
        backoffPolicy: delivery.backoffPolicy,
        backoffDelay: delivery.backoffDelay,
      },
    },
  };
}

/** `k8s/base/eventing/triggers.yaml`: one Trigger per subscription. */
export function triggersYaml(): string {
  const header = [
    '# Generated from events/catalog/src/catalog.ts (subscriptions) by events/catalog/src/knative.ts:',
    '#   npm run triggers -w @soundgood/event-catalog',
    '# Do not edit. One Trigger per subscription; each filters on the exact CloudEvent type and delivers',
    '# to the service at /events. Delivery order follows the subscription (catalog.ts says why unordered).',
  ];
  const documents = subscriptions.map((s) => `---\n${stringify(trigger(s))}`);
  return `${header.join('\n')}\n${documents.join('')}`;
}

/**
 * The namespace the application runs in (k8s/base/kustomization.yaml). EventPolicies name their
 * senders by OIDC subject, a string kustomize does not rewrite, so it is spelled out here (and
 * k8s/test/eventing.test.ts checks it against the ServiceAccounts as deployed).
 */
export const appNamespace = 'soundgood';

/**
 * The OIDC audience of the broker's ingress, `<group>/<kind>/<namespace>/<name>` lower-cased
 * (knative/eventing pkg/auth/audience.go GetAudience): what the services' projected token names.
 */
export function brokerAudience(namespace: string = appNamespace): string {
  return `eventing.knative.dev/broker/${namespace}/${broker.name}`.toLowerCase();
}

/** One entry of an EventPolicy's `from`: an OIDC subject, or an object with an OIDC identity. */
export type EventPolicySender =
  | { sub: string }
  | { ref: { apiVersion: string; kind: string; name: string; namespace?: string } };

/**
 * Senders that are not Soundgood services, by producer. `from.ref` resolves only objects that
 * report an OIDC identity in `status.auth` (Knative sources: knative/eventing pkg/auth
 * resolveSubjectsFromReference); the PingSource of the daily tick does, a Deployment does not.
 */
const externalSenders: Readonly<Record<string, EventPolicySender>> = {
  'school-clock': { ref: { apiVersion: 'sources.knative.dev/v1', kind: 'PingSource', name: 'school-day' } },
  // The OpenFaaS function's pods run as this ServiceAccount (k8s/functions), in the functions'
  // namespace; it requests its broker token through the TokenRequest API (docs/faas.md).
  'monthly-report': { sub: 'system:serviceaccount:openfaas-fn:monthly-report' },
};

/**
 * The identity a producer sends with: a service posts with its own ServiceAccount's projected token
 * (subject `system:serviceaccount:<namespace>:<service>`, exact: no `*` suffix pattern).
 */
export function senderOf(producer: string): EventPolicySender {
  if ((services as readonly string[]).includes(producer))
    return { sub: `system:serviceaccount:${appNamespace}:${producer}` };
  const external = externalSenders[producer];
  if (!external)
    throw new Error(`producer ${producer} has no sender identity: add it to externalSenders in knative.ts`);
  return external;
}

/** Every producer of the catalog, in the catalog's order, each once. */
export function producers(): string[] {
  return [...new Set(Object.values(events).map((e): string => e.producer))];
}

/**
 * The EventPolicy of one producer: to the Broker only (a policy without `to` would apply to every
 * resource of the namespace, the dead-letter KafkaSink too), from the producer's identity, and only
 * its own types, each with its own source. The broker ingress answers 401 without a valid token for
 * its audience and 403 when no policy both names the token's subject and passes the event through
 * its filters (eventing-kafka-broker data-plane receiver AuthVerifierImpl at knative-v1.23.0).
 * `filters` are ANDed, so one `any` holds the alternatives.
 */
export function eventPolicy(producer: string) {
  const produced = Object.values(events).filter((e) => e.producer === producer);
  if (produced.length === 0) throw new Error(`${producer} produces no event type`);
  return {
    apiVersion: 'eventing.knative.dev/v1alpha1',
    kind: 'EventPolicy',
    metadata: { name: `events-from-${producer}` },
    spec: {
      to: [{ ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: broker.name } }],
      from: [senderOf(producer)],
      filters: [{ any: produced.map((e) => ({ exact: { type: e.type, source: e.source } })) }],
    },
  };
}

/**
 * Dead-letter replay (`npm run dead-letters -- replay`, run in the cluster by the `dead-letters`
 * CronJob template of k8s/base/operations/dead-letters.yaml) re-sends events as they were: each under
 * its producer's type and source, but with its own identity, this ServiceAccount's projected token.
 * The one sender besides the producers that the generated file admits.
 */
export const deadLetterReplay = {
  policy: 'dead-letter-replay',
  serviceAccount: 'dead-letter-operator',
  /** The suspended CronJob operators run Jobs from (`kubectl create job --from=cronjob/dead-letters`). */
  cronJob: 'dead-letters',
} as const;

export function deadLetterReplaySender(): EventPolicySender {
  return { sub: `system:serviceaccount:${appNamespace}:${deadLetterReplay.serviceAccount}` };
}

/**
 * The replay's EventPolicy: to the Broker only, from the replay's ServiceAccount only, and exactly the
 * catalog's (type, source) pairs: a forged event (another source) stays refused when replayed, and a
 * type outside the catalog cannot be sent at all. Staff-only use of the account is the CLI's check
 * (SOUNDGOOD_OPERATOR_TOKEN) plus who may create Jobs in the namespace (docs/security.md).
 */
export function deadLetterReplayPolicy() {
  return {
    apiVersion: 'eventing.knative.dev/v1alpha1',
    kind: 'EventPolicy',
    metadata: { name: deadLetterReplay.policy },
    spec: {
      to: [{ ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: broker.name } }],
      from: [deadLetterReplaySender()],
      filters: [{ any: Object.values(events).map((e) => ({ exact: { type: e.type, source: e.source } })) }],
    },
  };
}

/** `k8s/base/eventing/event-policies.yaml`: one EventPolicy per producer, then the replay's. */
export function eventPoliciesYaml(): string {
  const header = [
    "# Generated from events/catalog/src/catalog.ts (each type's producer and source) by",
    '# events/catalog/src/knative.ts:  npm run triggers -w @soundgood/event-catalog',
    "# Do not edit. One EventPolicy per producer: the Broker accepts a type only from its producer's",
    '# OIDC identity, with its catalog source (Knative authentication-oidc; docs/security.md, Events).',
    '# Last, dead-letter-replay: the dead-letter-operator account may re-send any catalog type, with its',
    '# catalog source only (k8s/base/operations/dead-letters.yaml).',
  ];
  const documents = [...producers().map(eventPolicy), deadLetterReplayPolicy()].map(
    (p) => `---\n${stringify(p)}`,
  );
  return `${header.join('\n')}\n${documents.join('')}`;
}

/** A stable UUID-shaped id for a contract resource or egress (the cluster uses the object's UID). */
function uid(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('/')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export interface ContractOptions {
  /** Must grow for a running data plane to pick up a changed contract. */
  generation: number;
  bootstrapServers: string;
  /** Stands for the Kubernetes namespace: names the ingress paths and the consumer groups. */
  namespace: string;
  /** The broker's topic (the controller's default: `knative-broker-<namespace>-<name>`). */
  brokerTopic?: string;
  /** The dead-letter sink's topic (default: the KafkaSink's, `soundgood.dead-letters`). */
  deadLetterTopic?: string;
  /** The receiver's base URL, e.g. `http://127.0.0.1:8080`: the dead-letter sink is served there. */
  receiverUrl: string;
  /** Base URL of each service (its Kubernetes Service in a cluster). */
  subscriberUrl: (service: ServiceName) => string;
  /** Override the catalog's order for every egress (the benchmark compares both). */
  deliveryOrder?: 'ORDERED' | 'UNORDERED';
}

/** The ingress paths of the broker and of the dead-letter KafkaSink (`/<namespace>/<name>`). */
export function ingressPaths(namespace: string) {
  return {
    broker: `/${namespace}/${broker.name}`,
    deadLetters: `/${namespace}/${delivery.deadLetterSink.name}`,
  };
}

/** The parts of proto/contract.proto's messages that Soundgood sets, as protobuf JSON. */
export interface ContractReference {
  uuid: string;
  namespace: string;
  name: string;
  kind: string;
  groupVersion: string;
}
export interface ContractEgressConfig {
  deadLetter: string;
  retry: number;
  backoffPolicy: 'Exponential' | 'Linear';
  /** Milliseconds (uint64, a string in protobuf JSON). */
  backoffDelay: string;
}
export interface ContractEgress {
  uid: string;
  consumerGroup: string;
  destination: string;
  replyToOriginalTopic: Record<string, never>;
  filter: { attributes: Record<string, string> };
  deliveryOrder: 'ORDERED' | 'UNORDERED';
  egressConfig: ContractEgressConfig;
  vReplicas: number;
  featureFlags: { enableRateLimiter: boolean; enableOrderedExecutorMetrics: boolean };
  reference: ContractReference;
}
export interface ContractResource {
  uid: string;
  topics: string[];
  bootstrapServers: string;
  ingress: { path: string; contentMode: 'BINARY' | 'STRUCTURED' };
  egressConfig?: ContractEgressConfig;
  absentAuth: Record<string, never>;
  featureFlags?: { enableEventTypeAutocreate: boolean };
  reference: ContractReference;
  egresses?: ContractEgress[];
}
export interface KnativeContract {
  /** uint64, a string in protobuf JSON. */
  generation: string;
  /** The Broker (with its egresses), then the dead-letter KafkaSink. */
  resources: [ContractResource & { egresses: ContractEgress[] }, ContractResource, ...ContractResource[]];
}

const reference = (
  namespace: string,
  kind: string,
  groupVersion: string,
  name: string,
): ContractReference => ({
  uuid: uid(namespace, kind, name),
  namespace,
  name,
  kind,
  groupVersion,
});

/**
 * The data plane's contract (proto `Contract` as JSON): the Broker with one egress per subscription,
 * and the dead-letter KafkaSink as a second resource. A KafkaSink's receiver is the broker receiver's
 * code with a sink resource (ingress path + topic, no egresses), so one receiver serves both.
 */
export function knativeContract(options: ContractOptions): KnativeContract {
  const { namespace } = options;
  const paths = ingressPaths(namespace);
  const egressConfig: ContractEgressConfig = {
    deadLetter: `${options.receiverUrl}${paths.deadLetters}`,
    retry: delivery.retry,
    backoffPolicy: delivery.backoffPolicy === 'exponential' ? 'Exponential' : 'Linear',
    backoffDelay: String(isoDurationMs(delivery.backoffDelay)),
  };
  const brokerRef = reference(namespace, 'Broker', 'eventing.knative.dev/v1', broker.name);
  const sinkRef = reference(
    namespace,
    'KafkaSink',
    'eventing.knative.dev/v1alpha1',
    delivery.deadLetterSink.name,
  );
  return {
    generation: String(options.generation),
    resources: [
      {
        uid: brokerRef.uuid,
        topics: [options.brokerTopic ?? `knative-broker-${namespace}-${broker.name}`],
        bootstrapServers: options.bootstrapServers,
        ingress: { path: paths.broker, contentMode: 'BINARY' },
        egressConfig,
        absentAuth: {},
        featureFlags: { enableEventTypeAutocreate: false },
        reference: brokerRef,
        egresses: subscriptions.map((s): ContractEgress => {
          const ref = reference(namespace, 'Trigger', 'eventing.knative.dev/v1', s.name);
          return {
            uid: ref.uuid,
            consumerGroup: `knative-trigger-${namespace}-${s.name}`,
            destination: `${options.subscriberUrl(s.service)}${subscriberPath}`,
            replyToOriginalTopic: {},
            filter: { attributes: { type: s.event.type } },
            deliveryOrder: options.deliveryOrder ?? (s.ordered ? 'ORDERED' : 'UNORDERED'),
            egressConfig,
            vReplicas: 1,
            featureFlags: { enableRateLimiter: false, enableOrderedExecutorMetrics: false },
            reference: ref,
          };
        }),
      },
      {
        uid: sinkRef.uuid,
        topics: [options.deadLetterTopic ?? delivery.deadLetterSink.topic],
        bootstrapServers: options.bootstrapServers,
        ingress: { path: paths.deadLetters, contentMode: 'BINARY' },
        absentAuth: {},
        reference: sinkRef,
      },
    ],
  };
}
