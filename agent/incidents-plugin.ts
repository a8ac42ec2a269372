/**
 * Plugs the incidents part (agent/incidents/) into the composition root.
 * Kept apart from agent.ts so the root does not depend on incident internals.
 */
import { VERSION } from '../lib/version.js';
import type { AgentContext, AgentPlugin } from './agent.js';
import {
  createIncidents,
  identityFromEnrollment,
  incidentsStateDir,
  type UploadOptions,
} from './incidents/index.js';

export interface IncidentPluginOptions {
  /** Upload bandwidth cap, bytes per second; none by default. */
  uploadBytesPerSecond?: number;
  parallelUploads?: number;
}

export function incidentsPlugin(opts: IncidentPluginOptions = {}): (ctx: AgentContext) => AgentPlugin {
  return (ctx) => {
    const upload: UploadOptions = {
      parallel: opts.parallelUploads ?? 2,
      ...(opts.uploadBytesPerSecond !== undefined ? { bytesPerSecond: opts.uploadBytesPerSecond } : {}),
    };
    const service = createIncidents({
      recorder: ctx.recorder,
      replies: (r) => ctx.link.publish('replies', r),
      identity: identityFromEnrollment(ctx.state),
      cameras: () => ctx.cameras.map((c) => ({ id: c.id, location: c.location })),
      stateDir: incidentsStateDir(ctx.dataDir),
      clock: ctx.clock,
      log: ctx.log.child({ part: 'incidents' }),
      software: `camconnect-edge ${VERSION}`,
      upload,
    });
    return { service, handlers: service.handlers };
  };
}
