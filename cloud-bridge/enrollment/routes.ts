/**
 * The enrollment routes, registered in the bridge's router, and their part of the OpenAPI
 * document (request schemas generated from the same zod schemas that validate the bodies).
 *
 * POST /api/enroll is public in the router's sense (no API token): the one-time token in the
 * body is the credential, and the proof of possession binds it to the device's key. Answers
 * carry `cache-control: no-store` (sendJson), since the enroll answer holds the MQTT password.
 */
import { z } from 'zod';
import {
  ENROLL_PATH,
  EnrollRequest,
  EnrollResponse,
  EnrollmentTokenRequest,
  EnrollmentTokenResponse,
  RevokeResponse,
  TOKENS_PATH,
} from '../../provisioning/api.js';
import { Id } from '../../protocol/schemas/common.js';
import { HttpError, sendJson, zodProblem } from '../http/problem.js';
import type { Route } from '../http/router.js';
import type { EnrollmentService } from './service.js';

export function enrollmentRoutes(service: EnrollmentService): Route[] {
  return [
    {
      method: 'POST',
      path: TOKENS_PATH,
      auth: ['operator'],
      handler: async (ctx) => {
        const r = EnrollmentTokenRequest.safeParse(await ctx.json());
        if (!r.success) throw zodProblem(r.error, 'the enrollment token request');
        const issued = await service.issue(r.data, ctx.principal?.tokenId ?? null);
        sendJson(ctx.res, 201, issued);
      },
    },
    {
      method: 'POST',
      path: ENROLL_PATH,
      auth: 'public',
      handler: async (ctx) => {
        const r = EnrollRequest.safeParse(await ctx.json());
        if (!r.success) throw zodProblem(r.error, 'the enrollment request');
        sendJson(ctx.res, 201, await service.enroll(r.data));
      },
    },
    {
      method: 'POST',
      path: '/api/devices/:id/revoke',
      auth: ['operator'],
      handler: async (ctx) => {
        const id = Id.safeParse(ctx.params['id']);
        if (!id.success) throw new HttpError(404, 'not-found', 'no such device');
        sendJson(ctx.res, 200, await service.revoke(id.data));
      },
    },
  ];
}

function schema(s: z.ZodType): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
}

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});
const body = (name: string) => ({
  required: true,
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${name}` } } },
});
const ok = (name: string, description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${name}` } } },
});

/** Schemas for `components.schemas` of the OpenAPI document. */
export function enrollmentOpenApiSchemas(): Record<string, unknown> {
  return {
    EnrollmentTokenRequest: schema(EnrollmentTokenRequest),
    EnrollmentTokenResponse: schema(EnrollmentTokenResponse),
    EnrollRequest: schema(EnrollRequest),
    EnrollResponse: schema(EnrollResponse),
    RevokeResponse: schema(RevokeResponse),
  };
}

/** Entries for `paths` of the OpenAPI document. */
export function enrollmentOpenApiPaths(): Record<string, unknown> {
  return {
    [TOKENS_PATH]: {
      post: {
        summary:
          'Issue a one-time enrollment token for a site; answers the signed QR payload (CC1:...) that carries it',
        'x-roles': ['operator'],
        requestBody: body('EnrollmentTokenRequest'),
        responses: {
          '201': ok('EnrollmentTokenResponse', 'issued'),
          '401': problem('no or unknown API token'),
          '403': problem('not an operator'),
          '422': problem('invalid request'),
        },
      },
    },
    [ENROLL_PATH]: {
      post: {
        summary:
          'Enroll a device: spends the token, registers the device key, returns agent id, MQTT credentials (once) and the RTCC key',
        security: [],
        requestBody: body('EnrollRequest'),
        responses: {
          '201': ok('EnrollResponse', 'enrolled'),
          '409': problem('token used (token-used), expired (token-expired) or unknown (token-unknown)'),
          '422': problem('invalid request or proof of possession'),
          '503': problem('the broker could not create the credentials; the token was not spent'),
        },
      },
    },
    '/api/devices/{id}/revoke': {
      post: {
        summary:
          'Revoke a device: delete its broker credentials, disconnect it, mark it revoked in the registry',
        'x-roles': ['operator'],
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          '200': ok('RevokeResponse', 'revoked'),
          '404': problem('no such device'),
          '503': problem('the broker could not be told; nothing changed'),
        },
      },
    },
  };
}
