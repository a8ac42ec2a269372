/**
 * The /api routes. Each validates its input with zod and answers JSON or a problem document.
 */
import { z } from 'zod';
import { Uuid, safeText } from '../../protocol/schemas/common.js';
import { evidenceKey, type EvidenceStore } from '../evidence/store.js';
import type { IncidentService } from '../incidents/service.js';
import { parseIncidentInput } from '../incidents/input.js';
import { getIncidentView, listIncidents } from '../incidents/view.js';
import { getDevice, listDevices } from '../registry/query.js';
import { registerDevice, DeviceRegistration } from '../registry/devices.js';
import type { Db } from '../db/db.js';
import type { Clock } from '../../lib/clock.js';
import type { BridgeMetrics } from '../metrics.js';
import type { BridgeConfig } from '../config.js';
import { HttpError, sendJson, zodProblem } from './problem.js';
import type { Route, RouteContext } from './router.js';
import { openApiDocument } from './openapi.js';
import { sendEvidenceFile, sendEvidenceTar } from './evidence-routes.js';
import { streamIncident } from './sse.js';

export interface ApiDeps {
  db: Db;
  clock: Clock;
  config: BridgeConfig;
  incidents: IncidentService;
  store: EvidenceStore;
  metrics: BridgeMetrics;
  rtccPublicKey: string;
  rtccKeyId: string;
  /** Aborted when the bridge stops: ends live streams. */
  closing: AbortSignal;
}

const READ = ['operator', 'auditor'] as const;
const CancelInput = z.strictObject({ reason: safeText(200).optional() });
const Paging = z.object({
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
  offset: z.coerce.number().int().min(0).default(0),
});

function incidentId(ctx: RouteContext): string {
  const r = Uuid.safeParse(ctx.params['id']);
  if (!r.success) throw new HttpError(404, 'not-found', 'no such incident');
  return r.data;
}

export function apiRoutes(d: ApiDeps): Route[] {
  const { db, clock, config } = d;
  return [
    {
      method: 'GET',
      path: '/api/openapi.json',
      auth: 'public',
      handler: ({ res }) => sendJson(res, 200, openApiDocument(config.limits)),
    },
    {
      method: 'GET',
      path: '/api/rtcc-key',
      auth: 'public',
      handler: ({ res }) =>
        sendJson(res, 200, { alg: 'Ed25519', publicKey: d.rtccPublicKey, keyId: d.rtccKeyId }),
    },
    {
      method: 'GET',
      path: '/api/config',
      auth: READ,
      handler: ({ res, principal }) =>
        sendJson(res, 200, {
          limits: config.limits,
          tileUrl: config.tileUrl ?? null,
          role: principal?.role,
          name: principal?.name,
        }),
    },
    {
      method: 'POST',
      path: '/api/incidents',
      auth: ['operator'],
      handler: async (ctx) => {
        const parsed = parseIncidentInput(await ctx.json(), config.limits);
        if (!parsed.success) {
          d.metrics.incidents.inc({ result: 'invalid' });
          throw zodProblem(parsed.error, 'the incident');
        }
        const created = await d.incidents.create(parsed.data, ctx.principal?.tokenId ?? null);
        const view = await getIncidentView(db, created.id);
        ctx.res.setHeader('location', `/api/incidents/${created.id}`);
        sendJson(ctx.res, 201, { ...view, fanoutMs: created.fanoutMs, signed: created.signed });
      },
    },
    {
      method: 'GET',
      path: '/api/incidents',
      auth: READ,
      handler: async ({ res }) => sendJson(res, 200, { incidents: await listIncidents(db) }),
    },
    {
      method: 'GET',
      path: '/api/incidents/:id',
      auth: READ,
      handler: async (ctx) => {
        const view = await getIncidentView(db, incidentId(ctx));
        if (!view) throw new HttpError(404, 'not-found', 'no such incident');
        sendJson(ctx.res, 200, view);
      },
    },
    {
      method: 'POST',
      path: '/api/incidents/:id/cancel',
      auth: ['operator'],
      handler: async (ctx) => {
        const id = incidentId(ctx);
        const body = CancelInput.safeParse(await ctx.json());
        if (!body.success) throw zodProblem(body.error, 'the cancellation');
        const told = await d.incidents.cancel(id, body.data.reason);
        if (!told) throw new HttpError(404, 'not-found', 'no such incident');
        sendJson(ctx.res, 200, { id, cancelled: told });
      },
    },
    {
      method: 'GET',
      path: '/api/incidents/:id/events',
      auth: READ,
      handler: async (ctx) => streamIncident(ctx, db, incidentId(ctx), d.closing),
    },
    {
      method: 'GET',
      path: '/api/incidents/:id/evidence',
      auth: READ,
      handler: async (ctx) => sendEvidenceTar(ctx, db, d.store, incidentId(ctx)),
    },
    {
      method: 'GET',
      path: '/api/incidents/:id/evidence/:deviceId/:cameraId/:name',
      auth: READ,
      handler: async (ctx) => {
        const id = incidentId(ctx);
        let key: string;
        try {
          key = evidenceKey(
            'incidents',
            id,
            ctx.params['deviceId'] ?? '',
            ctx.params['cameraId'] ?? '',
            'files',
            ctx.params['name'] ?? '',
          );
        } catch {
          throw new HttpError(404, 'not-found', 'no such evidence file');
        }
        await sendEvidenceFile(ctx, db, d.store, key, id);
      },
    },
    {
      method: 'GET',
      path: '/api/devices',
      auth: READ,
      handler: async ({ res, url }) => {
        const p = Paging.safeParse(Object.fromEntries(url.searchParams));
        if (!p.success) throw zodProblem(p.error, 'the query');
        sendJson(res, 200, { devices: await listDevices(db, clock.now(), p.data) });
      },
    },
    {
      method: 'POST',
      path: '/api/devices',
      auth: ['operator'],
      handler: async (ctx) => {
        const r = DeviceRegistration.safeParse(await ctx.json());
        if (!r.success) throw zodProblem(r.error, 'the device registration');
        const device = await registerDevice(db, r.data, clock.now());
        sendJson(ctx.res, 201, { id: device.id, siteName: device.siteName, policy: device.policy });
      },
    },
    {
      method: 'GET',
      path: '/api/devices/:id',
      auth: READ,
      handler: async (ctx) => {
        const device = await getDevice(db, ctx.params['id'] ?? '', clock.now());
        if (!device) throw new HttpError(404, 'not-found', 'no such device');
        sendJson(ctx.res, 200, device);
      },
    },
    {
      method: 'GET',
      path: '/api/audit',
      auth: ['auditor'],
      handler: async ({ res, url }) => {
        const p = Paging.safeParse(Object.fromEntries(url.searchParams));
        if (!p.success) throw zodProblem(p.error, 'the query');
        const rows = await db.query(
          'SELECT id, at, token_id AS "tokenId", role, method, path, status, remote FROM audit ORDER BY id DESC LIMIT $1 OFFSET $2',
          [p.data.limit, p.data.offset],
        );
        sendJson(res, 200, { entries: rows });
      },
    },
  ];
}
