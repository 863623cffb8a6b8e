import { ConsoleLogger, type LogLevel } from '@nestjs/common';
import { isSpanContextValid, trace } from '@opentelemetry/api';

/** Nest's JSON logger, with the trace and span of the active context on every line. */
export class TracingLogger extends ConsoleLogger {
  protected override getJsonLogObject(
    message: unknown,
    options: {
      context: string;
      logLevel: LogLevel;
      writeStreamType?: 'stdout' | 'stderr';
      errorStack?: unknown;
    },
  ) {
    const record = super.getJsonLogObject(message, options);
    const span = trace.getActiveSpan()?.spanContext();
    return span && isSpanContextValid(span)
      ? { ...record, trace_id: span.traceId, span_id: span.spanId }
      : record;
  }
}
