/**
 * The contract of the OpenFaaS node22 template (openfaas/templates template/node22/index.js, vendored
 * in ../template): the module exports `async (event, context) => ...`; the template builds `event`
 * from the Express request and answers with what the handler passes to `context.succeed` (objects
 * and arrays as JSON, anything else as is) with the status and headers set on `context`, or with
 * `context.fail`'s value (status 500 unless set). Returning without calling either succeeds with the
 * returned value.
 */
import type { IncomingHttpHeaders } from 'node:http';

export interface FunctionEvent {
  /** Parsed by body-parser: JSON as an object, text/* as a string, otherwise `{}` or undefined. */
  body: unknown;
  headers: IncomingHttpHeaders;
  method: string;
  query: Record<string, string | string[] | undefined>;
  path: string;
}

export interface FunctionContext {
  status(code: number): FunctionContext;
  headers(values: Record<string, string>): FunctionContext;
  succeed(value: unknown): void;
  fail(value: unknown): void;
}

export type Handler = (event: FunctionEvent, context: FunctionContext) => Promise<unknown>;
