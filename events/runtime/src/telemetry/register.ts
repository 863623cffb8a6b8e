/**
 * `node --import @soundgood/eventing/register dist/main.js`: starts OpenTelemetry before any
 * application module is loaded, with the ESM loader hook that lets instrumentations patch ESM
 * modules as well as CommonJS ones.
 */
import { register } from 'node:module';
import { startTelemetry } from './telemetry.js';

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
startTelemetry();
