/**
 * Soundgood's monthly report, an OpenFaaS function (node22 template: see ./openfaas.ts).
 *
 * - `POST /` (the cron-connector on the 1st, or anyone through the gateway): reports last month (or
 *   `?month=YYYY-MM`), publishes the report's CloudEvent and returns the report.
 * - `GET /?month=YYYY-MM`: returns the report without publishing it (a browser, a dashboard).
 *
 * JSON, or HTML when `Accept` prefers text/html or `?format=html`.
 */
import { BrokerToken } from './broker-token.js';
import { readConfig } from './config.js';
import { ServiceError, ServicesClient } from './extract.js';
import type { FunctionContext, FunctionEvent, Handler } from './openfaas.js';
import { monthOf, previousMonth } from './period.js';
import { publishReport } from './publish.js';
import { renderHtml } from './render-html.js';
import { transform } from './transform.js';

const config = readConfig();
const client = new ServicesClient(config);
const brokerToken =
  config.K_SINK_AUDIENCE && config.KUBERNETES_SERVICE_HOST
    ? new BrokerToken({
        audience: config.K_SINK_AUDIENCE,
        accountDir: config.SERVICE_ACCOUNT_DIR,
        apiServer: `https://${config.KUBERNETES_SERVICE_HOST.includes(':') ? `[${config.KUBERNETES_SERVICE_HOST}]` : config.KUBERNETES_SERVICE_HOST}:${config.KUBERNETES_SERVICE_PORT}`,
        timeoutMs: config.HTTP_TIMEOUT_MS,
      })
    : undefined;

const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

function wantsHtml(event: FunctionEvent): boolean {
  const format = first(event.query.format);
  if (format) return format === 'html';
  const accept = event.headers.accept ?? '';
  return /text\/html/.test(accept) && !/^application\/json/.test(accept);
}

const problem = (context: FunctionContext, status: number, message: string) =>
  context.status(status).headers({ 'content-type': 'application/json' }).succeed({ message });

async function respond(event: FunctionEvent, context: FunctionContext): Promise<void> {
  if (event.method !== 'GET' && event.method !== 'POST')
    return problem(
      context,
      405,
      `${event.method} is not allowed: GET reads a report, POST also publishes it`,
    );
  const format = first(event.query.format);
  if (format !== undefined && format !== 'json' && format !== 'html')
    return problem(context, 400, `format must be json or html, not ${JSON.stringify(format)}`);
  const requested = first(event.query.month) ?? previousMonth(new Date(), config.SCHOOL_TIME_ZONE);
  let month: ReturnType<typeof monthOf>;
  try {
    month = monthOf(requested, config.SCHOOL_TIME_ZONE);
  } catch (error) {
    return problem(context, 400, (error as Error).message);
  }

  let report: ReturnType<typeof transform>;
  try {
    report = transform(month, await client.extract(month), config.SCHOOL_TIME_ZONE, new Date());
  } catch (error) {
    if (!(error instanceof ServiceError)) throw error;
    // The services' answer, named: an upstream problem, not the function's.
    return problem(context, 502, error.message);
  }
  const headers: Record<string, string> = {};
  if (event.method === 'POST') {
    const published = await publishReport(
      config.K_SINK,
      report,
      config.HTTP_TIMEOUT_MS,
      brokerToken && (() => brokerToken.value()),
    );
    headers['ce-id'] = published.id;
  }
  if (wantsHtml(event))
    return context
      .status(200)
      .headers({ ...headers, 'content-type': 'text/html; charset=utf-8' })
      .succeed(renderHtml(report));
  return context
    .status(200)
    .headers({ ...headers, 'content-type': 'application/json' })
    .succeed(report);
}

/**
 * The template answers a thrown error with the context's status, 200 unless set: every failure is
 * answered here instead, 500 with its message (and logged for `faas-cli logs`).
 */
const handle: Handler = async (event, context) => {
  try {
    await respond(event, context);
  } catch (error) {
    console.error(error);
    problem(context, 500, `the report failed: ${(error as Error).message}`);
  }
};

export = handle;
