/**
 * What the `camconnect agent` composition root uses:
 *
 *   const link = createLink(config.link, { clock, log, agentVersion: VERSION, startedAt,
 *     health: createHealthCollector({ ... }), motion: (fn) => motion.onEpisode(fn),
 *     handlers: { incident: incidents.handle, 'cancel-incident': ..., 'evidence-receipt': ... } });
 *   new Composition([recorder, cameras, motion, link, ...]).start(signal)
 *   await link.setCameras(inventory)        // on start and whenever cameras change
 *   await link.publish('replies', reply)    // later replies (upload progress)
 */
import { LinkConfigSchema, type LinkConfigInput } from './config.js';
import { Link, type LinkDeps } from './link.js';

export { Link, type LinkDeps, type Subscribe } from './link.js';
export { LinkConfigSchema, type LinkConfig, type LinkConfigInput } from './config.js';
export type { RequestHandlers, RequestHandler, ReplyContext } from './requests.js';

/** Validates the configuration (throws a ZodError naming the bad field) and builds the link. No I/O. */
export function createLink(config: LinkConfigInput, deps: LinkDeps): Link {
  return new Link(LinkConfigSchema.parse(config), deps);
}
