import type { LoggerService } from '@nestjs/common';
import { context } from '@opentelemetry/api';
import { type CloudEvent, HTTP } from 'cloudevents';
import type { Request, Response } from 'express';
import type { EventDispatcher } from '../dispatcher.js';
import { InvalidEventError, PermanentEventError } from '../events.js';
import { inProcessSpan } from '../telemetry/tracing.js';

/**
 * The subscriber side of the Knative Eventing data plane: a Trigger POSTs one CloudEvent, in binary
 * or structured content mode. 2xx = handled (200 carries the reply event, which the broker
 * publishes); 4xx = can never succeed, not retried; 5xx = retried, then dead-lettered by Knative.
 * https://knative.dev/docs/eventing/reference/data-plane/
 * https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/http-protocol-binding.md
 *
 * Expects the raw body (a Buffer), so that binary mode works for any content type.
 */
export function knativeReceiver(dispatcher: EventDispatcher, logger: LoggerService) {
  return async (req: Request, res: Response): Promise<void> => {
    const fail = (status: number, message: string) => {
      if (status >= 500) logger.error(message, 'Knative');
      else logger.warn?.(`rejected with ${status}: ${message}`, 'Knative');
      res.status(status).json({ error: message });
    };
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return fail(405, `${req.method} is not allowed: POST one CloudEvent`);
    }
    const contentType = String(req.headers['content-type'] ?? '');
    if (contentType.startsWith('application/cloudevents-batch')) {
      return fail(
        415,
        'batched content mode is not supported: POST one event per request, binary or structured',
      );
    }
    let event: CloudEvent<unknown>;
    try {
      const body = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
      const parsed = HTTP.toEvent({ headers: req.headers as Record<string, string>, body });
      if (Array.isArray(parsed)) return fail(415, 'batched content mode is not supported');
      event = parsed as CloudEvent<unknown>;
    } catch (error) {
      const details = (error as { errors?: unknown }).errors;
      return fail(
        400,
        `not a valid CloudEvent: ${(error as Error).message}${details ? ` ${JSON.stringify(details)}` : ''}`,
      );
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
