import { configOrExit, runService } from '@soundgood/eventing';
import { configSchema } from './config.js';
import { Database } from './database.js';
import { InventoryModule } from './inventory.module.js';

await runService({
  service: 'inventory',
  config: configOrExit(configSchema),
  database: Database,
  module: InventoryModule,
});
