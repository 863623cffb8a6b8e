import { writeFileSync } from 'node:fs';
import { eventPoliciesYaml, triggersYaml } from './knative.js';

const eventing = new URL('../../../k8s/base/eventing/', import.meta.url);
writeFileSync(new URL('triggers.yaml', eventing), triggersYaml());
try {
  writeFileSync(new URL('event-policies.yaml', eventing), eventPoliciesYaml());
} catch (error) {
  // The Triggers are written; the EventPolicies need every producer's identity first.
  console.error(`event-policies.yaml not written: ${(error as Error).message}`);
  process.exitCode = 1;
}
