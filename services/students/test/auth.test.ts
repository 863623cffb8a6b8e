// Who may call the students API (docs/security.md): staff registers and lists students; a student
// reads only herself; every bad token is refused with 401.
import { randomUUID } from 'node:crypto';
import { authProblems, startTestService, type TestService } from '@soundgood/eventing/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { configSchema } from '../src/config.js';
import { Database } from '../src/database.js';
import { StudentsModule } from '../src/students.module.js';

let students: TestService<Database>;
const ada = randomUUID();
const bea = randomUUID();

beforeAll(async () => {
  students = await startTestService({
    service: 'students',
    configSchema,
    database: Database,
    module: StudentsModule,
  });
  for (const id of [ada, bea]) {
    await students.db.student.create({
      data: { id, name: `Student ${id.slice(0, 4)}`, email: `${id}@example.test` },
    });
  }
});

afterAll(async () => {
  await students?.stop();
});

const newStudent = () => ({ name: 'Cleo', email: `${randomUUID()}@example.test` });
const routes: [string, string, (() => unknown)?][] = [
  ['POST', '/students', newStudent],
  ['GET', '/students'],
  ['GET', `/students/${ada}`],
];

describe('students API access', () => {
  test.each(routes)(
    '%s %s refuses no token, an expired, early, foreign-audience, foreign-issuer, alg-none, unknown-key or malformed one with 401',
    async (method, path, body) => {
      const problems = await authProblems(students.issuer, (token) =>
        students.http(method, path, body?.(), { as: token }),
      );
      expect(problems).toEqual([]);
    },
  );

  test('staff registers and lists students, and reads any one', async () => {
    expect((await students.http('POST', '/students', newStudent())).status).toBe(201);
    expect((await students.http('GET', '/students')).status).toBe(200);
    expect((await students.http('GET', `/students/${bea}`)).status).toBe(200);
  });

  test('a student reads herself, and neither another student, the list, nor registers anyone (403)', async () => {
    const token = await students.issuer.student(ada);
    expect((await students.http('GET', `/students/${ada}`, undefined, { as: token })).status).toBe(200);

    const other = await students.http('GET', `/students/${bea}`, undefined, { as: token });
    expect(other.status).toBe(403);
    expect(other.body.message).toMatch(/only act for herself/);
    const list = await students.http('GET', '/students', undefined, { as: token });
    expect(list.status).toBe(403);
    expect(list.body.message).toMatch(/requires the role staff/);
    expect((await students.http('POST', '/students', newStudent(), { as: token })).status).toBe(403);
  });

  test('a valid token with no Soundgood role is refused with 403 naming that', async () => {
    const token = await students.issuer.mint(ada, ['guest']);
    const response = await students.http('GET', `/students/${ada}`, undefined, { as: token });
    expect(response.status).toBe(403);
    expect(response.body.message).toMatch(/no Soundgood role/);
  });

  test('health and readiness need no token', async () => {
    expect((await students.http('GET', '/healthz', undefined, { as: null })).status).toBe(200);
    expect((await students.http('GET', '/readyz', undefined, { as: null })).status).toBe(200);
  });
});
