/**
 * Per-caller rate limits with @nestjs/throttler, keyed by the token's subject (not the client IP:
 * behind the gateway every request comes from it). `RATE_LIMIT` requests per `RATE_LIMIT_WINDOW`
 * on each `@RateLimited()` route; past it, 429 with `Retry-After` (seconds).
 * The counters live in the process: with N replicas a caller gets up to N times the limit.
 */
import { applyDecorators, type ExecutionContext, Injectable, UseGuards } from '@nestjs/common';
import { ThrottlerException, ThrottlerGuard, type ThrottlerLimitDetail } from '@nestjs/throttler';
import { type AuthenticatedRequest, PRINCIPAL } from './principal.js';

@Injectable()
export class SubjectThrottlerGuard extends ThrottlerGuard {
  protected override async getTracker(req: Record<string, unknown>): Promise<string> {
    const principal = (req as AuthenticatedRequest)[PRINCIPAL];
    if (!principal) throw new Error('@RateLimited() needs an authenticated route');
    return `sub:${principal.subject}`;
  }

  protected override async throwThrottlingException(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    throw new ThrottlerException(
      `rate limit: at most ${detail.limit} requests per ${detail.ttl / 1000} s on this route per caller; retry after ${detail.timeToBlockExpire} s`,
    );
  }
}

/** Limits this route per caller (token subject): `RATE_LIMIT` per `RATE_LIMIT_WINDOW`. */
export const RateLimited = () => applyDecorators(UseGuards(SubjectThrottlerGuard));
