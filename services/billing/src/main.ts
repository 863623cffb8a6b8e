import { ConfigError, loadConfig, runService } from '@soundgood/eventing';
import { BillingModule } from './billing.module.js';
import { type Config, configSchema } from './config.js';
import { Database } from './database.js';

function readConfig(): Config {
  try {
    return loadConfig(configSchema);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}

await runService({ service: 'billing', config: readConfig(), database: Database, module: BillingModule });
