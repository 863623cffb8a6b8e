import { writeFileSync } from 'node:fs';
import { triggersYaml } from './knative.js';

writeFileSync(new URL('../../../k8s/base/eventing/triggers.yaml', import.meta.url), triggersYaml());
