import 'reflect-metadata';
import { Controller, Get, type INestApplication, Module } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseConfigSchema, loadConfig } from '../config.js';
import { AnyRole, Public } from './access.js';
import { AuthGuard } from './auth.guard.js';
import { type DevIssuer, startDevIssuer } from './dev-issuer.js';
import { TokenVerifier } from './token-verifier.js';

@Controller()
class ProbeController {
  @Get('forgotten')
  forgotten() {
    return { reached: true };
  }

  @Get('anyone')
  @AnyRole()
  anyone() {
    return { reached: true };
  }

  @Get('open')
  @Public()
  open() {
    return { reached: true };
  }
}

let issuer: DevIssuer;
let app: INestApplication;
let url: string;

beforeAll(async () => {
  issuer = await startDevIssuer();
  const config = loadConfig(baseConfigSchema, {
    DATABASE_URL: 'postgresql://localhost/x',
    EVENT_TRANSPORT: 'kafka',
    KAFKA_BROKERS: 'localhost:9092',
    ...issuer.env,
  });
  @Module({
    controllers: [ProbeController],
    providers: [
      { provide: TokenVerifier, useValue: new TokenVerifier(config) },
      { provide: APP_GUARD, useClass: AuthGuard },
    ],
  })
  class ProbeModule {}
  app = await NestFactory.create(ProbeModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  url = await app.getUrl();
});

afterAll(async () => {
  await app?.close();
  await issuer?.close();
});

const get = async (path: string, token?: string) => {
  const response = await fetch(
    `${url}${path}`,
    token ? { headers: { authorization: `Bearer ${token}` } } : {},
  );
  return { status: response.status, body: (await response.json()) as { message?: string } };
};

describe('AuthGuard', () => {
  it('refuses a route that declares no access rule, even to staff: a forgotten decorator fails closed', async () => {
    const response = await get('/forgotten', await issuer.staff());
    expect(response.status).toBe(403);
    expect(response.body.message).toMatch(/declares no access rule/);
  });

  it('reads roles given as a space-separated string', async () => {
    const token = await issuer.mint('s-1', [], { claims: { roles: 'student other' } });
    expect((await get('/anyone', token)).status).toBe(200);
  });

  it('lets a @Public route through without a token, and nothing else', async () => {
    expect((await get('/open')).status).toBe(200);
    expect((await get('/anyone')).status).toBe(401);
  });
});
