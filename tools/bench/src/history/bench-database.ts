import { randomBytes } from "node:crypto";
import { migrate } from "@taskflow/history";
import pg from "pg";
import { type LoadPlan, timeline } from "./generate-jobs.js";

/** The fixed prefixes of bench databases' names. */
export type BenchPrefix = "taskflow_bench_history" | "taskflow_bench_ingest";

/** A database the bench made for one run. */
export interface BenchDatabase {
  name: string;
  /** Connection string of the database. */
  url: string;
  /** Drops the database, closing whatever connections are left on it. */
  drop(): Promise<void>;
}

/**
 * Creates an empty database `<prefix>_<random>` (default `taskflow_bench_history_<random>`) on
 * the server of `adminUrl`, so a run never touches another run's data or the stack's own
 * `taskflow` database.
 */
export async function createBenchDatabase(adminUrl: string, prefix: BenchPrefix = "taskflow_bench_history"): Promise<BenchDatabase> {
  // Identifiers cannot be parameters; the name is a fixed prefix and hex digits only.
  const name = `${prefix}_${randomBytes(5).toString("hex")}`;
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

/**
 * Brings the database to history's newest schema with history's own migrations, then creates
 * the day partitions of every day the plan's jobs are created on, so no row lands in a DEFAULT
 * partition. Returns how many days of partitions it created.
 */
export async function prepareSchema(url: string, plan: LoadPlan): Promise<number> {
  await migrate(url);
  const tl = timeline(plan);
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ created: number }>({
      name: "bench_history_ensure_partitions",
      text: "SELECT taskflow_ensure_partitions($1::date, $2::date) AS created",
      values: [day(tl.startMs), day(tl.endMs)],
    });
    return rows[0]?.created ?? 0;
  });
}

/** Runs `fn` on a new connection to `url`, closing it after. */
export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: "taskflow-bench-history" });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
