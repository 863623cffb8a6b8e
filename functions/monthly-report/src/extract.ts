/**
 * Extract: last month's rentals, charges and refunds, and the instruments, through the services'
 * HTTP APIs (never their databases), a page at a time.
 */
import { readFileSync } from 'node:fs';
import type { Config } from './config.js';
import type { Month } from './period.js';

export interface RentalRow {
  id: string;
  instrumentId: string;
  status: string;
  monthlyFeeCents: number | null;
  currency: string | null;
  startsOn: string | null;
  endsOn: string | null;
  endedOn?: string | null;
  /** Why it ended, from the rentals service (ENDED, PAYMENT_OVERDUE, TERMINATED_EARLY). */
  reason?: string | null;
  inArrears?: boolean;
}

export interface ChargeRow {
  id: string;
  rentalId: string;
  amountCents: number;
  currency: string;
  status: string;
  createdAt: string;
}

export interface RefundRow {
  rentalId: string;
  amountCents: number;
  currency: string;
  createdAt: string;
}

export interface InstrumentRow {
  id: string;
  type: string;
  createdAt: string;
}

export interface Extracted {
  started: RentalRow[];
  ended: RentalRow[];
  active: RentalRow[];
  charges: ChargeRow[];
  refunds: RefundRow[];
  instruments: InstrumentRow[];
  /** Every rental named by a charge or refund, including those never confirmed (found one by one). */
  rentals: Map<string, RentalRow>;
}

export class ServiceError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message);
  }
}

export class ServicesClient {
  private readonly token: string | undefined;

  constructor(private readonly config: Config) {
    // Read when the handler loads: a missing secret fails the pod's start, not the 1st of the month.
    this.token = config.STAFF_TOKEN_FILE ? readFileSync(config.STAFF_TOKEN_FILE, 'utf8').trim() : undefined;
    if (config.STAFF_TOKEN_FILE && !this.token)
      throw new Error(`the staff token file ${config.STAFF_TOKEN_FILE} is empty`);
  }

  async get<T>(base: string, path: string): Promise<T> {
    const url = `${base.replace(/\/+$/, '')}${path}`;
    const response = await fetch(url, {
      headers: {
        accept: 'application/json',
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
      },
      signal: AbortSignal.timeout(this.config.HTTP_TIMEOUT_MS),
    }).catch((error: Error) => {
      throw new ServiceError(`GET ${url} failed: ${error.message}`, undefined);
    });
    if (!response.ok) {
      const text = await response.text().catch(() => '');
      throw new ServiceError(
        `GET ${url} answered ${response.status}: ${text.slice(0, 300)}`,
        response.status,
      );
    }
    return (await response.json()) as T;
  }

  /** Every page of a list endpoint that takes `limit` and `offset`. */
  async all<T>(base: string, path: string): Promise<T[]> {
    const rows: T[] = [];
    const limit = this.config.PAGE_SIZE;
    for (let offset = 0; ; offset += limit) {
      const page = await this.get<T[]>(base, `${path}&limit=${limit}&offset=${offset}`);
      rows.push(...page);
      if (page.length < limit) return rows;
    }
  }

  async extract(month: Month): Promise<Extracted> {
    const { RENTALS_URL: rentals, BILLING_URL: billing, INVENTORY_URL: inventory } = this.config;
    const dates = `from=${month.from}&to=${month.to}`;
    const instants = `from=${encodeURIComponent(month.fromInstant)}&to=${encodeURIComponent(month.toInstant)}`;
    const [started, ended, active, charges, refunds, instruments] = await Promise.all([
      this.all<RentalRow>(rentals, `/rentals?in=started&${dates}`),
      this.all<RentalRow>(rentals, `/rentals?in=ended&${dates}`),
      this.all<RentalRow>(rentals, `/rentals?in=active&${dates}`),
      this.all<ChargeRow>(billing, `/charges?${instants}`),
      this.all<RefundRow>(billing, `/refunds?${instants}`),
      this.get<InstrumentRow[]>(inventory, '/instruments'),
    ]);
    const known = new Map([...started, ...ended, ...active].map((r) => [r.id, r]));
    const missing = [...new Set([...charges, ...refunds].map((p) => p.rentalId))].filter(
      (id) => !known.has(id),
    );
    // A refund may belong to a rental that ended earlier, or was never confirmed (compensated).
    for (const id of missing) known.set(id, await this.get<RentalRow>(rentals, `/rentals/${id}`));
    return { started, ended, active, charges, refunds, instruments, rentals: known };
  }
}
