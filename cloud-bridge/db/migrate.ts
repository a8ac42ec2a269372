import type { Db } from './db.js';
import { migrations as builtin, type Migration } from './migrations/index.js';

/** Any fixed number: every bridge instance takes the same advisory lock while migrating. */
const MIGRATION_LOCK = 0x6361_6d63;

/**
 * Applies pending migrations, each in its own transaction together with its schema_migrations
 * row, so a failed migration leaves no half-applied schema. Two bridge instances starting at once
 * on one server serialise on a transaction-scoped advisory lock; the second then sees the first's
 * rows and applies nothing. Returns the versions applied by this call.
 */
export async function migrate(
  db: Db,
  now: () => number,
  list: readonly Migration[] = builtin,
): Promise<number[]> {
  const applied: number[] = [];
  const sorted = [...list].sort((a, b) => a.version - b.version);
  for (const m of sorted) {
    const done = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      // Inside the lock: CREATE TABLE IF NOT EXISTS itself races between two sessions.
      await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`);
      const seen = await tx.query('SELECT 1 FROM schema_migrations WHERE version = $1', [m.version]);
      if (seen.length > 0) return false;
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
        m.version,
        m.name,
        now(),
      ]);
      return true;
    });
    if (done) applied.push(m.version);
  }
  return applied;
}
