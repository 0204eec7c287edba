import { readdir } from "node:fs/promises";
import pg from "pg";
import { MIGRATIONS_DIR, MIGRATIONS_TABLE } from "./migrate.js";

/**
 * The database's schema is older than this build's migrations. Thrown at start-up when history
 * runs without DDL rights (`HISTORY_MIGRATE_ON_START=false`) and the migration job has not run:
 * serving on an old schema would fail later, one statement at a time.
 */
export class SchemaNotCurrentError extends Error {
  override readonly name = "SchemaNotCurrentError";

  constructor(readonly pending: readonly string[]) {
    super(
      `database schema is not at the newest version: ${pending.length} migration(s) pending ` +
        `(${pending.join(", ")}); run the migrations (node services/history/dist/migrate-main.js) ` +
        "with a user allowed DDL, or set HISTORY_MIGRATE_ON_START=true",
    );
  }
}

/**
 * Migrations of this build not yet applied to the database at `databaseUrl`, in order; every
 * one of them when the database was never migrated. Reads only, so it needs no DDL rights.
 * @throws Error when the database is unreachable.
 */
export async function listPendingMigrations(databaseUrl: string): Promise<string[]> {
  const known = (await readdir(MIGRATIONS_DIR))
    .filter((file) => file.endsWith(".sql"))
    .map((file) => file.slice(0, -".sql".length))
    .sort();
  const client = new pg.Client({ connectionString: databaseUrl, application_name: "taskflow-history-schema-check" });
  await client.connect();
  try {
    const table = await client.query<{ exists: boolean }>("SELECT to_regclass($1) IS NOT NULL AS exists", [MIGRATIONS_TABLE]);
    if (table.rows[0]?.exists !== true) return known;
    const { rows } = await client.query<{ name: string }>(`SELECT name FROM ${MIGRATIONS_TABLE}`);
    const applied = new Set(rows.map((r) => r.name));
    return known.filter((name) => !applied.has(name));
  } finally {
    await client.end();
  }
}

/**
 * Resolves when every migration of this build is applied to the database at `databaseUrl`.
 * A database migrated further (by a newer build, before a rollback) passes: migrations only add.
 * @throws {SchemaNotCurrentError} naming the pending migrations.
 * @throws Error when the database is unreachable.
 */
export async function assertSchemaCurrent(databaseUrl: string): Promise<void> {
  const pending = await listPendingMigrations(databaseUrl);
  if (pending.length > 0) throw new SchemaNotCurrentError(pending);
}
