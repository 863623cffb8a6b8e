import { z } from 'zod';

const url = z.url({ protocol: /^https?$/ });

/**
 * The function's configuration: environment variables set by the Function resource (k8s) or
 * stack.yml, read once when the template loads the handler, so a wrong value fails the pod's start.
 */
export const configSchema = z.object({
  RENTALS_URL: url,
  BILLING_URL: url,
  INVENTORY_URL: url,
  /** The broker's ingress: where the report's CloudEvent is POSTed (binary content mode). */
  K_SINK: url,
  /**
   * A staff bearer token for the services' APIs, from an OpenFaaS secret (mounted as a file under
   * /var/openfaas/secrets/). Unset: requests go without Authorization (a local stack without auth).
   */
  STAFF_TOKEN_FILE: z.string().min(1).optional(),
  /** The school's time zone: a month starts at midnight there (as the rentals service counts dates). */
  SCHOOL_TIME_ZONE: z
    .string()
    .default('Europe/Stockholm')
    .refine((name) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: name });
        return !/^[+-]/.test(name);
      } catch {
        return false;
      }
    }, 'not an IANA time zone'),
  /** Per request to a service or the broker. */
  HTTP_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** Rows per page when listing rentals, charges and refunds (the services allow up to 500). */
  PAGE_SIZE: z.coerce.number().int().min(1).max(500).default(200),
});
export type Config = z.infer<typeof configSchema>;

export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`monthly-report: invalid configuration: ${problems}`);
  }
  return parsed.data;
}
