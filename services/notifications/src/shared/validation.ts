import { BadRequestException, type Provider, StandardSchemaValidationPipe } from '@nestjs/common';
import { APP_PIPE } from '@nestjs/core';

/**
 * Validates every `@Body`, `@Query` and `@Param` given a `{ schema }` (zod) and answers 400 with one
 * entry per wrong field: `{ errors: [{ field, message }] }`.
 */
export const validationPipe: Provider = {
  provide: APP_PIPE,
  useValue: new StandardSchemaValidationPipe({
    exceptionFactory: (issues) => {
      const errors = issues.map((issue) => ({
        field:
          (issue.path ?? []).map((part) => String(typeof part === 'object' ? part.key : part)).join('.') ||
          '(body)',
        message: issue.message,
      }));
      return new BadRequestException({
        statusCode: 400,
        error: 'Bad Request',
        message: errors.map(({ field, message }) => `${field}: ${message}`).join('; '),
        errors,
      });
    },
  }),
};
