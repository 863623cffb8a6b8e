// Each compose service's environment against the service's own config schema, imported from its
// build output (services/<service>/dist/config.js): run the services' builds first.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  type ConfigSchema,
  configErrors,
  loadCompose,
  serviceEnvironment,
  soundgoodServices,
} from './compose.js';
import { repoRoot } from './tools.js';

const compose = loadCompose(join(repoRoot, 'docker-compose.yml'));

async function configSchema(service: string): Promise<ConfigSchema> {
  const file = join(repoRoot, 'services', service, 'dist', 'config.js');
  if (!existsSync(file)) throw new Error(`${file} is missing: build the services first (npm run build)`);
  const module = (await import(pathToFileURL(file).href)) as { configSchema?: ConfigSchema };
  if (!module.configSchema) throw new Error(`${file} exports no configSchema`);
  return module.configSchema;
}

describe('docker-compose.yml environments', () => {
  it.each(Object.keys(soundgoodServices))(
    '%s: satisfies the service config schema, with no unknown variable',
    async (service) => {
      const env = serviceEnvironment(compose.services[service] ?? {});
      expect(configErrors(await configSchema(service), env)).toEqual([]);
    },
  );

  it('a broken environment fails the rentals config schema, naming each variable', async () => {
    const broken = loadCompose(join(import.meta.dirname, 'fixtures', 'compose', 'bad-env.yml'));
    const errors = configErrors(
      await configSchema('rentals'),
      serviceEnvironment(broken.services.rentals ?? {}),
    );
    for (const variable of ['EVENT_TRANSPORT', 'DATABASE_URL', 'SAGA_STEP_TIMEOUT_MS', 'KAFKA_BROKER']) {
      expect(
        errors.some((error) => error.startsWith(`${variable}:`)),
        variable,
      ).toBe(true);
    }
  });
});
