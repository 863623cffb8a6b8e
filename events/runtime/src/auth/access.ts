/**
 * Who may call a route. Every HTTP route of a service needs a valid bearer token unless it is
 * `@Public()`, and declares who may call it: `@Roles('staff')`, `@AnyRole()`, `@StudentOrStaff(...)`
 * or `@OwnerOrStaff()`. A route that declares nothing is refused (403), so a forgotten rule fails
 * closed.
 */
import {
  applyDecorators,
  createParamDecorator,
  type ExecutionContext,
  ForbiddenException,
  SetMetadata,
} from '@nestjs/common';
import { type AuthenticatedRequest, PRINCIPAL, type Principal, type Role } from './principal.js';

export const ACCESS = 'soundgood:access';

export type AccessRule =
  | { kind: 'public' }
  | { kind: 'roles'; roles: Role[] }
  /** Staff, or a student whose subject is the request's `field` (path, then body, then query). */
  | { kind: 'student-or-staff'; field: string }
  /** Staff, or a student: the handler checks that what it loads is hers (`ensureActsFor`). */
  | { kind: 'owner-or-staff' };

/** No token needed: health, readiness, the OpenAPI document. */
export const Public = () => SetMetadata(ACCESS, { kind: 'public' } satisfies AccessRule);

/** Only callers holding one of these roles. */
export const Roles = (...roles: Role[]) => SetMetadata(ACCESS, { kind: 'roles', roles } satisfies AccessRule);

/** Any student or staff member. */
export const AnyRole = () => Roles('student', 'staff');

/** Staff, or the student named by the request's `field` (e.g. `studentId` in the body, `id` in the path). */
export const StudentOrStaff = (field: string) =>
  applyDecorators(SetMetadata(ACCESS, { kind: 'student-or-staff', field } satisfies AccessRule));

/** Staff, or a student acting on a resource the handler loads and checks with `ensureActsFor`. */
export const OwnerOrStaff = () => SetMetadata(ACCESS, { kind: 'owner-or-staff' } satisfies AccessRule);

/** The verified caller, as a handler parameter. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext) => {
  const principal = context.switchToHttp().getRequest<AuthenticatedRequest>()[PRINCIPAL];
  if (!principal) throw new Error('CurrentPrincipal on a route without authentication');
  return principal;
});

/** Throws 403 unless the caller is staff or the student `studentId`. */
export function ensureActsFor(principal: Principal, studentId: string, what = 'this'): void {
  if (principal.roles.has('staff')) return;
  if (principal.roles.has('student') && principal.subject === studentId) return;
  throw new ForbiddenException(`a student may only access her own ${what}: it belongs to another student`);
}
