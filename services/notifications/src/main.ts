import { ConfigError, loadConfig, runService } from '@soundgood/eventing';
import { type Config, configSchema } from './config.js';
import { Database } from './database.js';
import { NotificationsModule } from './notifications.module.js';

function readConfig(): Config {
  try {
    return loadConfig(configSchema);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}

await runService({
  service: 'notifications',
  config: readConfig(),
  database: Database,
  module: NotificationsModule,
});
