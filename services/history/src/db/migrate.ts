import { fileURLToPath } from "node:url";
import { runner } from "node-pg-migrate";
import pg from "pg";
import type { Logger } from "pino";

/**
 * Key of the session advisory lock held while migrating ("tfhist" in ASCII). Every history
 * replica runs migrations at start-up; the lock makes the others wait for the first instead
 * of racing it. node-pg-migrate's own lock is a try-lock that fails a second replica, so it is
 * disabled (`noLock`) and this blocking one is taken first.
 */
export const MIGRATION_LOCK_KEY = 0x74_66_68_69_73_74;

/** Table node-pg-migrate records applied migrations in. */
export const MIGRATIONS_TABLE = "pgmigrations";

/** services/history/migrations, from both src/db and dist/db. */
export const MIGRATIONS_DIR = fileURLToPath(new URL("../../migrations", import.meta.url));

/**
 * Files of {@link MIGRATIONS_DIR} that are not migrations: hidden ones and any not named `*.sql`,
 * such as `CHECKSUMS` (node-pg-migrate anchors the pattern, `^(...)$`).
 */
const NOT_A_MIGRATION = "(\\..*|.*(?<!\\.sql))";

export interface MigrateOptions {
  /** Receives a summary of what ran; silent when omitted. */
  logger?: Logger;
  /** `up` (default) applies every pending migration; `down` reverts `count` of them. */
  direction?: "up" | "down";
  /** How many migrations to apply or revert; default all pending for up, 1 for down. */
  count?: number;
}

/**
 * Brings the database at `databaseUrl` to the newest schema (or reverts it, for tests and
 * operators), on a dedicated connection holding {@link MIGRATION_LOCK_KEY}. Safe to call from
 * several processes at once: the later ones wait, then find nothing to do.
 * @returns names of the migrations run, in order.
 * @throws Error when the database is unreachable or a migration fails (its transaction is
 *   rolled back, so the schema stays at the last good version).
 */
export async function migrate(databaseUrl: string, opts: MigrateOptions = {}): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: "taskflow-history-migrate" });
  await client.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
    try {
      const ran = await runner({
        dbClient: client,
        dir: MIGRATIONS_DIR,
        migrationsTable: MIGRATIONS_TABLE,
        ignorePattern: NOT_A_MIGRATION,
        direction: opts.direction ?? "up",
        count: opts.count ?? (opts.direction === "down" ? 1 : Number.POSITIVE_INFINITY),
        noLock: true,
        singleTransaction: true,
        logger: toolLogger(opts.logger),
      });
      const names = ran.map((m) => m.name);
      if (names.length > 0) {
        opts.logger?.info({ migrations: names, direction: opts.direction ?? "up" }, "migrations applied");
      }
      return names;
    } finally {
      // A failed unlock means the session is already broken, and ending it frees the lock.
      await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]).catch(() => undefined);
    }
  } finally {
    await client.end();
  }
}

/** node-pg-migrate prints progress lines; keep them at debug, with a fixed message. */
function toolLogger(logger: Logger | undefined) {
  const debug = (detail: unknown) => logger?.debug({ detail: String(detail) }, "migration tool output");
  const warn = (detail: unknown) => logger?.warn({ detail: String(detail) }, "migration tool warning");
  // Errors reach the caller as the thrown error; the tool's copy of them is detail.
  return { debug, info: debug, warn, error: debug };
}
