// Who may read notifications (docs/security.md): a student her own, staff anyone's; every bad token
// is refused with 401.
import { randomUUID } from 'node:crypto';
import { authProblems, startTestService, type TestService } from '@soundgood/eventing/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { configSchema } from '../src/config.js';
import { Database } from '../src/database.js';
import { NotificationsModule } from '../src/notifications.module.js';

let notifications: TestService<Database>;
const ada = randomUUID();
const bea = randomUUID();

beforeAll(async () => {
  notifications = await startTestService({
    service: 'notifications',
    configSchema,
    database: Database,
    module: NotificationsModule,
  });
});

afterAll(async () => {
  await notifications?.stop();
});

describe('notifications API access', () => {
  test('GET /students/:id/notifications refuses no token, an expired, early, foreign-audience, foreign-issuer, alg-none, unknown-key or malformed one with 401', async () => {
    const problems = await authProblems(notifications.issuer, (token) =>
      notifications.http('GET', `/students/${ada}/notifications`, undefined, { as: token }),
    );
    expect(problems).toEqual([]);
  });

  test("a student reads her own notifications, not another's (403); staff reads anyone's", async () => {
    const token = await notifications.issuer.student(ada);
    const own = await notifications.http('GET', `/students/${ada}/notifications`, undefined, { as: token });
    expect(own.status).toBe(200);
    const other = await notifications.http('GET', `/students/${bea}/notifications`, undefined, { as: token });
    expect(other.status).toBe(403);
    expect(other.body.message).toMatch(/only act for herself/);
    expect((await notifications.http('GET', `/students/${bea}/notifications`)).status).toBe(200);
  });
});
