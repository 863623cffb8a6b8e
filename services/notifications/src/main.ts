import { configOrExit, runService } from '@soundgood/eventing';
import { configSchema } from './config.js';
import { Database } from './database.js';
import { NotificationsModule } from './notifications.module.js';

await runService({
  service: 'notifications',
  config: configOrExit(configSchema),
  database: Database,
  module: NotificationsModule,
});
