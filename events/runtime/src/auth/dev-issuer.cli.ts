#!/usr/bin/env node
/**
 * The development OIDC issuer as a process (docker-compose's `issuer` service; `npm start` runs it
 * in-process instead):
 *
 *   dev-issuer serve                      # JWKS + discovery on DEV_ISSUER_PORT (default 7300)
 *   dev-issuer token --student <id>       # a student's bearer token, signed with the same key
 *   dev-issuer token --staff [--subject <name>]
 *
 * DEV_ISSUER_URL (the `iss` and discovery base, default http://127.0.0.1:<port>), DEV_ISSUER_KEY_FILE
 * (default /tmp/dev-issuer/key.json), DEV_ISSUER_AUDIENCE (default soundgood), DEV_ISSUER_TOKEN_TTL_S
 * (default 43200). Development only: anyone who can run it mints staff tokens.
 */
import { DEV_AUDIENCE, STAFF_SUBJECT, startDevIssuer } from './dev-issuer.js';

async function main(args: string[]): Promise<void> {
  const port = Number(process.env.DEV_ISSUER_PORT ?? 7300);
  const options = {
    host: process.env.DEV_ISSUER_HOST ?? '0.0.0.0',
    keyFile: process.env.DEV_ISSUER_KEY_FILE ?? '/tmp/dev-issuer/key.json',
    audience: process.env.DEV_ISSUER_AUDIENCE ?? DEV_AUDIENCE,
    issuer: process.env.DEV_ISSUER_URL ?? `http://127.0.0.1:${port}`,
  };
  const [command, ...rest] = args;
  if (command === 'serve') {
    const issuer = await startDevIssuer({ ...options, port });
    console.log(`dev issuer ${issuer.issuer} on ${options.host}:${port} (audience ${issuer.audience})`);
    const stop = () => void issuer.close().then(() => process.exit(0));
    process.on('SIGTERM', stop).on('SIGINT', stop);
    return;
  }
  if (command === 'token') {
    // Port 0 and closed at once: only the key and the issuer URL matter for signing.
    const issuer = await startDevIssuer({ ...options, host: '127.0.0.1', port: 0 });
    const expiresIn = Number(process.env.DEV_ISSUER_TOKEN_TTL_S ?? 43_200);
    const flag = (name: string) => (rest.includes(name) ? rest[rest.indexOf(name) + 1] : undefined);
    const student = flag('--student');
    let token: string;
    if (student) token = await issuer.student(student, { expiresIn });
    else if (rest.includes('--staff')) {
      token = await issuer.mint(flag('--subject') ?? STAFF_SUBJECT, ['staff'], { expiresIn });
    } else throw new Error('usage: dev-issuer token --student <id> | --staff [--subject <name>]');
    await issuer.close();
    console.log(token);
    return;
  }
  throw new Error('usage: dev-issuer serve | token --student <id> | token --staff [--subject <name>]');
}

main(process.argv.slice(2)).catch((error: Error) => {
  console.error(`dev-issuer: ${error.message}`);
  process.exit(1);
});
