/**
 * One small database interface over two drivers: PGlite (embedded Postgres in a data folder, the
 * default) and node-postgres (a real server, from DATABASE_URL). Both speak the same SQL, so the
 * migrations and every query are written once.
 *
 * Type parsing is pinned to the same shape for both drivers: int8 (our epoch-millisecond columns
 * and counts) becomes a JS number, jsonb becomes an object. Millisecond timestamps stay far below
 * 2^53, so the conversion is exact.
 */
import { mkdirSync } from 'node:fs';
import pg from 'pg';
import { PGlite, types as pgliteTypes } from '@electric-sql/pglite';

export type Row = Record<string, unknown>;

export interface Queryable {
  /** Runs one parameterised statement ($1, $2, ...) and returns its rows. */
  query<T = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** Runs fn inside BEGIN/COMMIT; rolls back and rethrows if fn throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface DbOptions {
  /** postgres://... for a server; otherwise PGlite. */
  url?: string;
  /** PGlite data folder; omitted means in-memory (tests). */
  dataDir?: string;
  /**
   * Postgres schema to use (created if missing). Tests use a unique one per run so that
   * parallel runs on one server never see each other's rows.
   */
  schema?: string;
  /** Pool size for a server. */
  poolSize?: number;
}

const INT8_OID = 20;

export async function openDb(opts: DbOptions): Promise<Db> {
  if (opts.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(opts.schema)) {
    throw new Error(`invalid schema name "${opts.schema}"`);
  }
  return opts.url ? openPg(opts.url, opts) : openPglite(opts);
}

async function openPg(url: string, opts: DbOptions): Promise<Db> {
  const schema = opts.schema;
  if (schema) {
    // Create the schema with a one-off client before the pool pins search_path to it.
    const setup = new pg.Client({ connectionString: url });
    await setup.connect();
    try {
      // IF NOT EXISTS still races between two sessions (unique violation on pg_namespace):
      // two instances starting together serialise on an advisory lock.
      await setup.query('BEGIN');
      await setup.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`camconnect-schema-${schema}`]);
      await setup.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await setup.query('COMMIT');
    } finally {
      await setup.end();
    }
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize ?? 10,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
        oid === INT8_OID
          ? (v: string) => Number(v)
          : (pg.types.getTypeParser(oid, format) as unknown)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client that loses its connection emits 'error' on the pool; without a listener Node
  // would crash the bridge. The next query opens a new connection.
  pool.on('error', () => undefined);
  const run = async <T>(c: pg.Pool | pg.PoolClient, sql: string, params?: readonly unknown[]): Promise<T[]> =>
    (await c.query(sql, params ? [...params] : undefined)).rows as T[];
  return {
    kind: 'postgres',
    query: (sql, params) => run(pool, sql, params),
    exec: async (sql) => {
      await pool.query(sql);
    },
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const tx: Queryable = {
          query: (sql, params) => run(client, sql, params),
          exec: async (sql) => {
            await client.query(sql);
          },
        };
        const out = await fn(tx);
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

async function openPglite(opts: DbOptions): Promise<Db> {
  if (opts.dataDir) mkdirSync(opts.dataDir, { recursive: true });
  const parsers = { [pgliteTypes.INT8]: (v: string) => Number(v) };
  const lite = await PGlite.create({ ...(opts.dataDir ? { dataDir: opts.dataDir } : {}), parsers });
  if (opts.schema)
    await lite.exec(`CREATE SCHEMA IF NOT EXISTS ${opts.schema}; SET search_path TO ${opts.schema};`);
  return {
    kind: 'pglite',
    query: async <T>(sql: string, params?: readonly unknown[]) =>
      (await lite.query<T>(sql, params ? [...params] : undefined)).rows,
    exec: async (sql) => {
      await lite.exec(sql);
    },
    transaction: (fn) =>
      lite.transaction((tx) =>
        fn({
          query: async <T>(sql: string, params?: readonly unknown[]) =>
            (await tx.query<T>(sql, params ? [...params] : undefined)).rows,
          exec: async (sql) => {
            await tx.exec(sql);
          },
        }),
      ),
    close: () => lite.close(),
  };
}
