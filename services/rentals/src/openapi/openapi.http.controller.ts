import { Controller, Get } from '@nestjs/common';
import { Public } from '@soundgood/eventing';
import { z } from 'zod';
import { rentalQuery } from '../find-rentals/find-rentals.http.controller.js';
import { sagaQuery } from '../inspect-rentals/inspect-rentals.http.controller.js';
import { rentInstrumentBody } from '../rent-instrument/rent-instrument.http.controller.js';
import { schoolDaysQuery } from '../rental-lifecycle/school-days.http.controller.js';

const error = { description: 'the problem, naming each wrong field', content: { 'application/json': {} } };
const id = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };

type Operation = { responses: Record<string, unknown>; security?: unknown[] };

/**
 * Every operation needs a bearer token (docs/security.md) but health and readiness: the scheme, and
 * the 401 and 403 answers each operation may give.
 */
function withBearerAuth<Document extends { paths: Record<string, Record<string, Operation>> }>(
  document: Document,
) {
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const operation of Object.values(operations)) {
      if (path === '/healthz' || path === '/readyz') {
        operation.security = [];
        continue;
      }
      operation.responses['401'] = {
        description: 'no valid bearer token; WWW-Authenticate (RFC 6750) names why',
      };
      operation.responses['403'] = { description: 'the role, or the student, does not allow it' };
    }
  }
  return {
    ...document,
    security: [{ bearer: [] }],
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            "an OIDC access token of OIDC_ISSUER for OIDC_AUDIENCE; `sub` = the student's id, roles student or staff",
        },
      },
    },
  };
}

/** The OpenAPI 3.1 document of the rentals API; request schemas come from the zod schemas in use. */
export const openApiDocument = withBearerAuth({
  openapi: '3.1.0',
  info: {
    title: 'Soundgood rentals',
    version: '1.0.0',
    description: 'Rent instruments; follow each rental’s saga.',
  },
  paths: {
    '/rentals': {
      get: {
        summary:
          'Rentals that started, ended or were active between two school dates (to exclusive), oldest start first, paged',
        parameters: Object.entries(z.toJSONSchema(rentalQuery).properties ?? {}).map(([name, schema]) => ({
          name,
          in: 'query',
          required: ['in', 'from', 'to'].includes(name),
          schema,
        })),
        responses: { '200': { description: 'the rentals' }, '400': error },
      },
      post: {
        summary: 'Rent an instrument: starts the rent-instrument saga',
        parameters: [
          {
            name: 'Idempotency-Key',
            in: 'header',
            required: false,
            description: 'a retry with the same key returns the same rental',
            schema: { type: 'string', maxLength: 200 },
          },
        ],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: z.toJSONSchema(rentInstrumentBody) } },
        },
        responses: {
          '202': { description: 'accepted: PENDING; the Location header names the rental' },
          '400': error,
          '409': { description: 'Idempotency-Key reused for a different request' },
          '429': { description: 'past RATE_LIMIT requests of this caller per window; see Retry-After' },
        },
      },
    },
    '/rentals/{id}': {
      get: {
        summary:
          'A rental, its months (due day, charge status, attempts), its arrears, its saga and the saga’s history (each step, its times, outcome and reason)',
        parameters: [id],
        responses: {
          '200': { description: 'the rental' },
          '400': error,
          '404': { description: 'unknown rental' },
        },
      },
    },
    '/rentals/{id}/terminate': {
      post: {
        summary: 'End an active rental early (reason TERMINATED_EARLY); frees its instrument and slot',
        parameters: [id],
        responses: {
          '200': { description: 'TERMINATED' },
          '404': { description: 'unknown rental' },
          '409': { description: 'the rental is not CONFIRMED' },
        },
      },
    },
    '/sagas': {
      get: {
        summary:
          'Sagas in flight (incl. ending rentals), stuck (past their deadline), failed, completed, rejected or ended; stalest first',
        parameters: Object.entries(z.toJSONSchema(sagaQuery).properties ?? {}).map(([name, schema]) => ({
          name,
          in: 'query',
          required: false,
          schema,
        })),
        responses: { '200': { description: 'the sagas' }, '400': error },
      },
    },
    '/school-days': {
      get: {
        summary:
          'The school days the daily work processed (charges sent, rentals ended, the tick that did it), newest first',
        parameters: Object.entries(z.toJSONSchema(schoolDaysQuery).properties ?? {}).map(
          ([name, schema]) => ({
            name,
            in: 'query',
            required: false,
            schema,
          }),
        ),
        responses: { '200': { description: 'the school days' }, '400': error },
      },
    },
    '/healthz': { get: { summary: 'liveness', responses: { '200': { description: 'alive' } } } },
    '/readyz': {
      get: {
        summary: 'readiness: database and event transport connected',
        responses: { '200': { description: 'ready' }, '503': { description: 'not ready' } },
      },
    },
  },
});

@Controller()
export class OpenApiHttpController {
  @Get('openapi.json')
  @Public()
  document() {
    return openApiDocument;
  }
}
