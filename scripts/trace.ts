// `npm run trace -- <rentalId|traceId>`: a trace from Jaeger's query API, printed as a waterfall, for
// following a saga without a browser. A rental id is resolved to its saga's trace id by the rentals
// service (GET /rentals/:id).
//
//   RENTALS_URL       the rentals service (default http://localhost:3000)
//   SOUNDGOOD_TOKEN   a bearer token the rentals service accepts for that rental: its student's or
//                     staff's (npm start prints TOKEN_STAFF); not needed for a trace id
//   JAEGER_QUERY_URL  Jaeger's query service, the UI's address (default http://localhost:16686)
import { fromJaeger, type JaegerResponse, waterfall } from './trace/model.ts';

const usage = `usage: npm run trace -- <rentalId|traceId>
  rentalId  a rental's UUID; its trace id comes from the rentals service (RENTALS_URL), asked with
            the bearer token in SOUNDGOOD_TOKEN (the rental's student or staff)
  traceId   32 hex digits, as in a traceparent
The trace is read from Jaeger's query API (JAEGER_QUERY_URL).`;

const traceIdPattern = /^[0-9a-f]{32}$/i;
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const timeoutMs = 10_000;

class Failure extends Error {}

async function get(url: string, what: string, headers: Record<string, string> = {}): Promise<Response> {
  try {
    return await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const cause =
      error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
    throw new Failure(`cannot reach ${what} at ${url}: ${cause}`);
  }
}

async function traceIdOfRental(rentalId: string): Promise<string> {
  const base = process.env.RENTALS_URL ?? 'http://localhost:3000';
  const url = `${base}/rentals/${rentalId}`;
  const token = process.env.SOUNDGOOD_TOKEN;
  const response = await get(url, 'the rentals service', token ? { authorization: `Bearer ${token}` } : {});
  if (response.status === 401 || response.status === 403)
    throw new Failure(
      `GET ${url} answered ${response.status}: ${await response.text()}; ` +
        (token
          ? "SOUNDGOOD_TOKEN must be the rental's student's token or staff's"
          : "set SOUNDGOOD_TOKEN to the rental's student's token or staff's (npm start prints TOKEN_STAFF)"),
    );
  if (response.status === 404) throw new Failure(`rental ${rentalId} not found (GET ${url} answered 404)`);
  if (!response.ok) throw new Failure(`GET ${url} answered ${response.status}: ${await response.text()}`);
  const rental = (await response.json()) as { traceId?: string | null };
  if (!rental.traceId)
    throw new Failure(`rental ${rentalId} has no trace id (its saga recorded no trace context)`);
  return rental.traceId;
}

async function fetchTrace(traceId: string): Promise<JaegerResponse> {
  const base = process.env.JAEGER_QUERY_URL ?? 'http://localhost:16686';
  const url = `${base}/api/traces/${traceId}`;
  const response = await get(url, 'Jaeger');
  const notFound = `trace ${traceId} not found in Jaeger at ${base}`;
  if (response.status === 404) throw new Failure(notFound);
  if (!response.ok) throw new Failure(`GET ${url} answered ${response.status}: ${await response.text()}`);
  const json = (await response.json()) as JaegerResponse;
  if (!json.data?.some((trace) => trace.spans.length > 0)) throw new Failure(notFound);
  return json;
}

async function main(args: string[]): Promise<void> {
  const [id] = args;
  if (args.length !== 1 || !id || !(traceIdPattern.test(id) || uuidPattern.test(id))) {
    console.error(usage);
    process.exitCode = 1;
    return;
  }
  const traceId = uuidPattern.test(id) ? await traceIdOfRental(id) : id.toLowerCase();
  if (uuidPattern.test(id)) console.log(`rental ${id}`);
  console.log(waterfall(fromJaeger(await fetchTrace(traceId))));
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof Failure)) throw error;
  console.error(`trace: ${error.message}`);
  process.exitCode = 1;
}
