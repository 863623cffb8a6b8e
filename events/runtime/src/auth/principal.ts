/** Who calls the HTTP API, as the verified bearer token says. */
export type Role = 'student' | 'staff';

export interface Principal {
  /** The token's `sub`: a student's id for a student. */
  subject: string;
  roles: ReadonlySet<Role>;
}

/** Where the auth guard leaves the principal on the request. */
export const PRINCIPAL = Symbol('soundgood.principal');

export type AuthenticatedRequest = { [PRINCIPAL]?: Principal };
