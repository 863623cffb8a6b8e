import { configOrExit, runService } from '@soundgood/eventing';
import { configSchema } from './config.js';
import { Database } from './database.js';
import { RentalsModule } from './rentals.module.js';

await runService({
  service: 'rentals',
  config: configOrExit(configSchema),
  database: Database,
  module: RentalsModule,
});
