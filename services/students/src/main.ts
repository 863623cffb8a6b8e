import { configOrExit, runService } from '@soundgood/eventing';
import { configSchema } from './config.js';
import { Database } from './database.js';
import { StudentsModule } from './students.module.js';

await runService({
  service: 'students',
  config: configOrExit(configSchema),
  database: Database,
  module: StudentsModule,
});
