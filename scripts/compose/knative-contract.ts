// The Knative data plane's contract for docker-compose.yml, generated from the event catalog by the
// same function that makes the local broker's contract and matches the cluster's Triggers
// (events/catalog/src/knative.ts), with compose's hostnames: the receiver `kafka-broker-receiver`,
// the subscribers by service name, Kafka's INTERNAL listener. The file is committed (compose mounts
// it as it is) and a test fails when it drifts from the catalog.
//
//   node scripts/compose/knative-contract.ts    rewrites scripts/compose/knative/contract.json
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type KnativeContract, knativeContract } from '../../events/catalog/dist/index.js';

export const composeContractFile = join(import.meta.dirname, 'knative', 'contract.json');

/** The receiver's compose service and port (INGRESS_PORT), and the namespace the paths are named by. */
export const composeBroker = {
  receiver: 'kafka-broker-receiver',
  port: 8080,
  namespace: 'soundgood',
  bootstrapServers: 'kafka:19092',
} as const;

export function composeContract(): KnativeContract {
  return knativeContract({
    // Fixed: compose starts the data plane on this file; a running one is restarted to pick a change up.
    generation: 1,
    bootstrapServers: composeBroker.bootstrapServers,
    namespace: composeBroker.namespace,
    receiverUrl: `http://${composeBroker.receiver}:${composeBroker.port}`,
    subscriberUrl: (service) => `http://${service}:8080`,
  });
}

export function composeContractJson(): string {
  return `${JSON.stringify(composeContract(), null, 2)}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(composeContractFile, composeContractJson());
  console.log(`wrote ${composeContractFile}`);
}
