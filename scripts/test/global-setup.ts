import { ensureActionlint, ensureWheelTools } from './tools.js';

/** Installs the linters once, before any test file runs (they would race on .cache otherwise). */
export default function setup(): void {
  ensureWheelTools();
  ensureActionlint();
}
