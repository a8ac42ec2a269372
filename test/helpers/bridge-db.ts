/**
 * A migrated bridge database for unit tests: in-memory PGlite, or a unique schema on the local
 * PostgreSQL when DATABASE_URL is set (dropped again by cleanup()).
 */
import { openDb, type Db } from '../../cloud-bridge/db/db.js';
import { migrate } from '../../cloud-bridge/db/migrate.js';
import { DATABASE_URL, dropSchema, runId } from './bridge-env.js';

export async function openTestDb(
  opts: { migrated?: boolean } = {},
): Promise<{ db: Db; cleanup(): Promise<void> }> {
  const schema = DATABASE_URL ? runId('bu').toLowerCase() : undefined;
  const db = await openDb({ url: DATABASE_URL, schema });
  if (opts.migrated !== false) await migrate(db, () => 1);
  return {
    db,
    async cleanup() {
      await db.close();
      if (schema) await dropSchema(schema);
    },
  };
}
