import type { LoggerService } from '@nestjs/common';
import { context } from '@opentelemetry/api';
import { type CloudEvent, HTTP } from 'cloudevents';
import type { Request, Response } from 'express';
import type { EventDispatcher } from '../dispatcher.js';
import { InvalidEventError, PermanentEventError } from '../events.js';
import { inProcessSpan } from '../telemetry/tracing.js';
import { CloudEventDecodingError, decodeHttpEvent, toCloudEvent } from './knative.decoder.js';

/**
 * The subscriber side of the Knative Eventing data plane: a Trigger POSTs one CloudEvent, in binary
 * or structured content mode, decoded and type-checked by knative.decoder.ts (a malformed attribute
 * is a 400 whose body names it: `{ error, attribute }`; batched mode and event formats other than
 * JSON are 415). 2xx = handled (200 carries the reply event, which the broker
 * publishes); 4xx = can never succeed, not retried; 5xx = retried, then dead-lettered by Knative.
 * https://knative.dev/docs/eventing/reference/data-plane/
 * https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/http-protocol-binding.md
 *
 * Expects the raw body (a Buffer), so that binary mode works for any content type.
 */
export function knativeReceiver(dispatcher: EventDispatcher, logger: LoggerService) {
  return async (req: Request, res: Response): Promise<void> => {
    const fail = (status: number, message: string, attribute?: string) => {
      if (status >= 500) logger.error(message, 'Knative');
      else logger.warn?.(`rejected with ${status}: ${message}`, 'Knative');
      res.status(status).json({ error: message, ...(attribute ? { attribute } : {}) });
    };
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return fail(405, `${req.method} is not allowed: POST one CloudEvent`);
    }
    let event: CloudEvent<unknown>;
    try {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      event = toCloudEvent(decodeHttpEvent({ headers: req.headers, rawHeaders: req.rawHeaders, body }));
    } catch (error) {
      if (!(error instanceof CloudEventDecodingError)) throw error;
      const prefix = error.status === 415 ? '' : 'not a valid CloudEvent: ';
      return fail(error.status, `${prefix}${error.message}`, error.attribute);
    }
    try {
      const where = { system: 'knative' as const, destination: 'broker' };
      const { reply } = await inProcessSpan(event, where, context.active(), () => dispatcher.dispatch(event));
      if (!reply) {
        res.status(204).end();
        return;
      }
      const message = HTTP.binary(reply);
      res.status(200).set(message.headers as Record<string, string>);
      res.send(typeof message.body === 'string' ? message.body : JSON.stringify(message.body));
    } catch (error) {
      if (error instanceof InvalidEventError) return fail(error.status, error.message);
      if (error instanceof PermanentEventError)
        return fail(422, `${event.type} ${event.id}: ${error.message}`);
      return fail(500, `${event.type} ${event.id} failed and may be retried: ${(error as Error).message}`);
    }
  };
}
