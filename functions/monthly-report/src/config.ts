import { z } from 'zod';

const url = z.url({ protocol: /^https?$/ });

/**
 * The function's configuration: environment variables set by the Function resource (k8s) or
 * stack.yml, read once when the template loads the handler, so a wrong value fails the pod's start.
 */
export const configSchema = z
  .object({
    RENTALS_URL: url,
    BILLING_URL: url,
    INVENTORY_URL: url,
    /** The broker's ingress: where the report's CloudEvent is POSTed (binary content mode). */
    K_SINK: url,
    /**
     * The broker's OIDC audience (Knative authentication-oidc). Set: each publish sends a token of the
     * pod's ServiceAccount for it, from the TokenRequest API (./broker-token.ts). Unset: no token (the
     * local data plane runs without OIDC).
     */
    K_SINK_AUDIENCE: z.string().min(1).optional(),
    /** The pod's ServiceAccount mount (token, ca.crt, namespace), for the TokenRequest. */
    SERVICE_ACCOUNT_DIR: z.string().min(1).default('/var/run/secrets/kubernetes.io/serviceaccount'),
    /** The API server, as Kubernetes sets them in every pod; needed with K_SINK_AUDIENCE. */
    KUBERNETES_SERVICE_HOST: z.string().min(1).optional(),
    KUBERNETES_SERVICE_PORT: z.coerce.number().int().positive().default(443),
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
  })
  .refine((config) => !config.K_SINK_AUDIENCE || config.KUBERNETES_SERVICE_HOST, {
    path: ['KUBERNETES_SERVICE_HOST'],
    error: 'K_SINK_AUDIENCE needs the API server (KUBERNETES_SERVICE_HOST) for its TokenRequest',
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
