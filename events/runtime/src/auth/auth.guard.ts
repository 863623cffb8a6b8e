import {
  type CanActivate,
  type ExecutionContext,
  ForbiddenException,
  HttpException,
  Inject,
  Injectable,
  ServiceUnavailableException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { ACCESS, type AccessRule } from './access.js';
import { type AuthenticatedRequest, PRINCIPAL } from './principal.js';
import { InvalidTokenError, IssuerUnavailableError, TokenVerifier } from './token-verifier.js';

/** RFC 6750 §3: the challenge of a 401; `error` only when a token was sent. */
export class UnauthorizedBearer extends HttpException {
  constructor(
    readonly description: string,
    readonly tokenSent: boolean,
  ) {
    super({ statusCode: 401, error: 'Unauthorized', message: description }, 401);
  }

  challenge(): string {
    const realm = 'Bearer realm="soundgood"';
    return this.tokenSent
      ? `${realm}, error="invalid_token", error_description="${this.description.replaceAll('"', "'")}"`
      : realm;
  }
}

/**
 * Global guard of every HTTP route (the event transport's handlers are not HTTP and pass): verifies
 * the bearer token, leaves the principal on the request, and applies the route's access rule.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(TokenVerifier) private readonly verifier: TokenVerifier,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const rule = this.reflector.getAllAndOverride<AccessRule | undefined>(ACCESS, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (rule?.kind === 'public') return true;
    const request = context.switchToHttp().getRequest<Request & AuthenticatedRequest>();
    const response = context.switchToHttp().getResponse<Response>();
    try {
      const principal = await this.authenticate(request.headers.authorization);
      request[PRINCIPAL] = principal;
      if (principal.roles.size === 0) {
        throw new ForbiddenException('the token carries no Soundgood role (student or staff)');
      }
      if (!rule) throw new ForbiddenException(`${request.method} ${request.path} declares no access rule`);
      switch (rule.kind) {
        case 'roles':
          if (!rule.roles.some((role) => principal.roles.has(role))) {
            throw new ForbiddenException(`requires the role ${rule.roles.join(' or ')}`);
          }
          return true;
        case 'owner-or-staff':
          return true;
        case 'student-or-staff': {
          if (principal.roles.has('staff')) return true;
          const value = [request.params, request.body, request.query]
            .map((source) => (source && typeof source === 'object' ? source[rule.field] : undefined))
            .find((found) => found !== undefined);
          if (value !== principal.subject) {
            throw new ForbiddenException(
              `a student may only act for herself: ${rule.field} must be the token's subject`,
            );
          }
          return true;
        }
      }
    } catch (error) {
      if (error instanceof UnauthorizedBearer) response.setHeader('WWW-Authenticate', error.challenge());
      throw error;
    }
  }

  private async authenticate(header: string | undefined) {
    const match = header ? /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header) : null;
    if (!header || !/^Bearer\b/i.test(header)) {
      throw new UnauthorizedBearer('a bearer token is required (Authorization: Bearer <token>)', false);
    }
    if (!match)
      throw new UnauthorizedBearer('the Authorization header is not a well-formed bearer token', true);
    try {
      return await this.verifier.verify(match[1] as string);
    } catch (error) {
      if (error instanceof InvalidTokenError) throw new UnauthorizedBearer(error.message, true);
      if (error instanceof IssuerUnavailableError) {
        throw new ServiceUnavailableException(`cannot verify tokens now: ${error.message}`);
      }
      throw error;
    }
  }
}
