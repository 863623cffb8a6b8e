/**
 * Dead letters are a staff operation (docs/security.md): the operator passes a staff bearer token
 * of the services' issuer in SOUNDGOOD_OPERATOR_TOKEN, verified as the services verify theirs
 * (OIDC_ISSUER, OIDC_AUDIENCE, ... as in events/runtime/src/config.ts), and every replay leaves an
 * audit line: who, what, when.
 */
import { appendFileSync } from 'node:fs';
import { z } from 'zod';
import type { Principal } from '../auth/principal.js';
import { InvalidTokenError, TokenVerifier } from '../auth/token-verifier.js';
import { authShape } from '../config.js';
import type { DeadLetter } from './dead-letters.js';

export class OperatorRefused extends Error {}

/** The verified staff operator, or OperatorRefused naming why. */
export async function authorizeOperator(env: NodeJS.ProcessEnv = process.env): Promise<Principal> {
  const parsed = z.object(authShape).safeParse(env);
  if (!parsed.success) {
    throw new OperatorRefused(
      `invalid configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const config = parsed.data;
  if (!config.OIDC_ISSUER || !config.OIDC_AUDIENCE) {
    throw new OperatorRefused(
      'OIDC_ISSUER and OIDC_AUDIENCE must name the issuer whose staff tokens are accepted',
    );
  }
  const token = env.SOUNDGOOD_OPERATOR_TOKEN;
  if (!token) throw new OperatorRefused('a staff bearer token is required in SOUNDGOOD_OPERATOR_TOKEN');
  let principal: Principal;
  try {
    principal = await new TokenVerifier(config).verify(token);
  } catch (error) {
    if (error instanceof InvalidTokenError)
      throw new OperatorRefused(`SOUNDGOOD_OPERATOR_TOKEN: ${error.message}`);
    throw error;
  }
  if (!principal.roles.has('staff'))
    throw new OperatorRefused('dead letters are a staff operation: the token is not staff');
  return principal;
}

export interface AuditLine {
  audit: 'dead-letters.replay';
  at: string;
  operator: string;
  issuer: string;
  target: string;
  events: { id?: string; type?: string; partition: number; offset: string }[];
}

/** Prints the audit line (JSON) and, with DEAD_LETTERS_AUDIT_FILE, appends it there too. */
export function audit(
  operator: Principal,
  target: string,
  letters: DeadLetter[],
  env: NodeJS.ProcessEnv = process.env,
): AuditLine {
  const line: AuditLine = {
    audit: 'dead-letters.replay',
    at: new Date().toISOString(),
    operator: operator.subject,
    issuer: env.OIDC_ISSUER ?? '',
    target,
    events: letters.map(({ id, type, partition, offset }) => ({ id, type, partition, offset })),
  };
  const text = JSON.stringify(line);
  console.log(text);
  if (env.DEAD_LETTERS_AUDIT_FILE) appendFileSync(env.DEAD_LETTERS_AUDIT_FILE, `${text}\n`);
  return line;
}
