import { userInfo } from "node:os";
import pg from "pg";
import { startEmbeddedPostgres } from "./start-embedded-postgres.js";
import { storeDir } from "./store-dir.js";

/** Where a PostgreSQL server usually runs on a developer's machine. */
const LOCAL_SERVER = "127.0.0.1:5432";
/** The database the services use. */
const DATABASE = "taskflow";
/** How long a probe connection may take, in ms. */
const CONNECT_TIMEOUT_MS = 2_000;

/** Options of {@link ensurePostgres}. */
export interface EnsurePostgresOptions {
  /**
   * Data folder of the embedded server (default `<repo>/.taskflow/postgres`). Run as root, when
   * OS user postgres cannot reach it, the data goes to a folder of its own under
   * /var/lib/taskflow instead (one line on stderr says where).
   */
  dir?: string;
  /** Where DATABASE_URL is read (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /**
   * Admin urls tried in turn before the embedded server (default: users `postgres`, then the
   * current OS user, to database `postgres` at 127.0.0.1:5432).
   */
  localAdminUrls?: string[];
}

/** A PostgreSQL server to use, and how it was found. */
export interface PostgresHandle {
  /** A connection that may CREATE DATABASE (tests make their own databases through it). */
  adminUrl: string;
  /** The `taskflow` database (or DATABASE_URL as given). */
  url: string;
  /** `env`: DATABASE_URL; `local`: one of localAdminUrls; `embedded`: the embedded server. */
  source: "env" | "local" | "embedded";
  /** Stops the server if this call started it; otherwise does nothing. */
  stop(): Promise<void>;
}

/**
 * Finds a PostgreSQL server: DATABASE_URL if set (used as given, also as the admin url), else
 * a server on 127.0.0.1:5432 that lets user `postgres` (or the current OS user) in, else an
 * embedded server on a free port whose data folder survives restarts. Creates database
 * `taskflow` when missing. Throws when the embedded server cannot start (the Error holds its
 * log's last lines).
 */
export async function ensurePostgres(opts: EnsurePostgresOptions = {}): Promise<PostgresHandle> {
  const env = opts.env ?? process.env;
  const nothing = async (): Promise<void> => {};
  if (env.DATABASE_URL) {
    return { adminUrl: env.DATABASE_URL, url: env.DATABASE_URL, source: "env", stop: nothing };
  }
  const localAdminUrl = await firstReachable(opts.localAdminUrls ?? defaultLocalAdminUrls());
  if (localAdminUrl) {
    const url = await ensureDatabase(localAdminUrl);
    return { adminUrl: localAdminUrl, url, source: "local", stop: nothing };
  }
  const server = await startEmbeddedPostgres(opts.dir ?? storeDir("postgres"));
  try {
    const url = await ensureDatabase(server.adminUrl);
    return { adminUrl: server.adminUrl, url, source: "embedded", stop: () => server.stop() };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

function defaultLocalAdminUrls(): string[] {
  const users = new Set(["postgres"]);
  try {
    users.add(userInfo().username);
  } catch {
    // An OS user without a name (some containers): try `postgres` only.
  }
  const urlOf = (user: string): string =>
    `postgres://${encodeURIComponent(user)}@${LOCAL_SERVER}/postgres`;
  return [...users].map(urlOf);
}

async function firstReachable(urls: string[]): Promise<string | undefined> {
  for (const url of urls) {
    if (await canConnect(url)) return url;
  }
  return undefined;
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Creates database `taskflow` through the admin connection if it is missing; returns its url. */
async function ensureDatabase(adminUrl: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query("select 1 from pg_database where datname = $1", [DATABASE]);
    if (found.rowCount === 0) {
      // Another launcher may create it at the same moment; "already exists" (42P04) is success.
      await client.query(`create database ${DATABASE}`).catch((err: { code?: string }) => {
        if (err.code !== "42P04") throw err;
      });
    }
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${DATABASE}`;
  return url.toString();
}
