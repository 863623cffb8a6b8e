import { writeFileSync } from 'node:fs';
import { asyncApiYaml } from './asyncapi.js';

writeFileSync(new URL('../asyncapi.yaml', import.meta.url), asyncApiYaml());
