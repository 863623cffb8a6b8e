import { configOrExit, runService } from '@soundgood/eventing';
import { BillingModule } from './billing.module.js';
import { configSchema } from './config.js';
import { Database } from './database.js';

await runService({
  service: 'billing',
  config: configOrExit(configSchema),
  database: Database,
  module: BillingModule,
});
