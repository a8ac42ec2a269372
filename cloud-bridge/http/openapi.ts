/**
 * The OpenAPI 3.1 document served at /api/openapi.json. Request bodies are generated from the
 * same zod schemas that validate them (z.toJSONSchema, JSON Schema 2020-12, which OpenAPI 3.1
 * uses as is), so the description cannot drift from what the server accepts.
 */
import { z } from 'zod';
import { VERSION } from '../../lib/version.js';
import { IncidentInput } from '../incidents/input.js';
import { DeviceRegistration } from '../registry/devices.js';
import type { Limits } from '../config.js';
import { DEVICE_SCHEMA, INCIDENT_SCHEMA } from './openapi-schemas.js';
import { enrollmentOpenApiPaths, enrollmentOpenApiSchemas } from '../enrollment/routes.js';

function schema(s: z.ZodType): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
}

const problem = { $ref: '#/components/schemas/Problem' };
const errors = (...codes: number[]) =>
  Object.fromEntries(
    codes.map((c) => [
      String(c),
      {
        description: DESCRIPTIONS[c] ?? 'error',
        content: { 'application/problem+json': { schema: problem } },
      },
    ]),
  );
const DESCRIPTIONS: Record<number, string> = {
  400: 'malformed request (bad JSON)',
  401: 'no or unknown API token',
  403: "the token's role may not do this",
  404: 'not found',
  413: 'body too large',
  415: 'body is not application/json',
  422: 'the body does not validate; `errors` lists each problem',
};
const json = (ref: string, description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: ref } } },
});
const idParam = (name: string) => ({ name, in: 'path', required: true, schema: { type: 'string' } });

export function openApiDocument(limits: Limits): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'CamConnect bridge API',
      version: VERSION,
      description:
        `Incident requests, device registry and evidence for the RTCC. Limits: radius <= ${limits.maxRadiusM} m, ` +
        `window <= ${limits.maxWindowMs / 3600_000} h, evidence file <= ${limits.maxUploadBytes} bytes. ` +
        'Errors are RFC 7807 problem details. Evidence uploads use the tus 1.0.0 protocol at /uploads/ (see the receiver docs).',
    },
    security: [{ bearer: [] }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'API token (roles: operator, auditor)' },
      },
      schemas: {
        IncidentInput: schema(IncidentInput),
        DeviceRegistration: schema(DeviceRegistration),
        ...enrollmentOpenApiSchemas(),
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            errors: {
              type: 'array',
              items: {
                type: 'object',
                properties: { path: { type: 'string' }, message: { type: 'string' } },
              },
            },
          },
        },
        Incident: INCIDENT_SCHEMA,
        Device: DEVICE_SCHEMA,
      },
    },
    paths: {
      '/api/incidents': {
        post: {
          summary:
            'File an incident: validated against the limits, signed with the RTCC key, sent to agents in or near the area',
          'x-roles': ['operator'],
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/IncidentInput' } } },
          },
          responses: {
            '201': json('#/components/schemas/Incident', 'created'),
            ...errors(400, 401, 403, 413, 415, 422),
          },
        },
        get: {
          summary: 'Recent incidents',
          'x-roles': ['operator', 'auditor'],
          responses: { '200': { description: 'list' }, ...errors(401, 403) },
        },
      },
      '/api/incidents/{id}': {
        get: {
          summary:
            'Incident state per agent and camera (accepted, declined, no-footage, awaiting-approval, uploading %, received, verified, failed)',
          'x-roles': ['operator', 'auditor'],
          parameters: [idParam('id')],
          responses: {
            '200': json('#/components/schemas/Incident', 'the incident'),
            ...errors(401, 403, 404),
          },
        },
      },
      '/api/incidents/{id}/cancel': {
        post: {
          summary: 'Withdraw an incident: agents not yet done get a cancel-incident request',
          'x-roles': ['operator'],
          parameters: [idParam('id')],
          requestBody: {
            content: {
              'application/json': {
                schema: { type: 'object', properties: { reason: { type: 'string', maxLength: 200 } } },
              },
            },
          },
          responses: { '200': { description: 'the agents told' }, ...errors(401, 403, 404, 422) },
        },
      },
      '/api/incidents/{id}/events': {
        get: {
          summary:
            'Live incident state as server-sent events (event: incident, data: the same JSON as GET /api/incidents/{id})',
          'x-roles': ['operator', 'auditor'],
          parameters: [idParam('id')],
          responses: { '200': { description: 'text/event-stream' }, ...errors(401, 403, 404) },
        },
      },
      '/api/incidents/{id}/evidence': {
        get: {
          summary:
            'Download every verified package of the incident as a tar (manifest.json, receipt.json, files/)',
          'x-roles': ['operator', 'auditor'],
          parameters: [idParam('id')],
          responses: { '200': { description: 'application/x-tar' }, ...errors(401, 403, 404) },
        },
      },
      '/api/incidents/{id}/evidence/{deviceId}/{cameraId}/{name}': {
        get: {
          summary: 'One evidence file (supports Range, for playback)',
          'x-roles': ['operator', 'auditor'],
          parameters: [idParam('id'), idParam('deviceId'), idParam('cameraId'), idParam('name')],
          responses: {
            '200': { description: 'the file' },
            '206': { description: 'a range of it' },
            ...errors(401, 403, 404),
          },
        },
      },
      '/api/devices': {
        get: {
          summary: 'Registered devices with health at a glance',
          'x-roles': ['operator', 'auditor'],
          responses: { '200': { description: 'list' }, ...errors(401, 403) },
        },
        post: {
          summary:
            'Register (or re-register) a device: id, Ed25519 public key, site, location, sharing policy (used by provisioning)',
          'x-roles': ['operator'],
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/DeviceRegistration' } } },
          },
          responses: { '201': { description: 'registered' }, ...errors(400, 401, 403, 415, 422) },
        },
      },
      '/api/devices/{id}': {
        get: {
          summary: 'One device: cameras, latest health, 24 h health history, recent motion',
          'x-roles': ['operator', 'auditor'],
          parameters: [idParam('id')],
          responses: { '200': json('#/components/schemas/Device', 'the device'), ...errors(401, 403, 404) },
        },
      },
      '/api/audit': {
        get: {
          summary: 'API audit log (newest first)',
          'x-roles': ['auditor'],
          responses: { '200': { description: 'list' }, ...errors(401, 403) },
        },
      },
      '/api/rtcc-key': {
        get: {
          summary: 'The RTCC public key agents verify requests with',
          security: [],
          responses: { '200': { description: 'key' } },
        },
      },
      '/api/config': {
        get: {
          summary: 'Dashboard settings (limits, tile URL)',
          'x-roles': ['operator', 'auditor'],
          responses: { '200': { description: 'settings' } },
        },
      },
      ...enrollmentOpenApiPaths(),
    },
  };
}
