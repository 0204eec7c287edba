import { execFile } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { ensurePostgres } from "@taskflow/devstack";

const run = promisify(execFile);

/** A PostgreSQL server of one test's own, which the test may stop and start. */
export interface PrivatePostgres {
  /** Admin connection string (user postgres, database postgres); the same across restarts. */
  adminUrl: string;
  /** Stops the server (`pg_ctl stop -m fast`: sessions are cut, nothing committed is lost). */
  stop(): Promise<void>;
  /** Starts the stopped server again on the same port and data. */
  start(): Promise<void>;
  /** Stops the server if it runs and deletes its data. */
  close(): Promise<void>;
}

/**
 * Starts devstack's embedded PostgreSQL with its data in a new temporary folder, on a free
 * port, for faults the shared test server must never see. Run as root, the server runs as OS
 * user postgres (devstack sees to that), so the folder is made reachable by that user.
 * @throws Error when the server cannot be initialised or started.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const base = await mkdtemp(join(tmpdir(), "tf-postgres-"));
  // mkdtemp makes the folder private; user postgres must pass through it to its data folder.
  await chmod(base, 0o755);
  const dataDir = join(base, "data");
  try {
    const server = await ensurePostgres({ dir: dataDir, env: {}, localAdminUrls: [] });
    const ctl = await pgCtlOf(dataDir);
    const port = new URL(server.adminUrl).port;
    let running = true;
    const stop = async (): Promise<void> => {
      await ctl(["stop", "-w", "-m", "fast", "-D", dataDir]);
      running = false;
    };
    return {
      adminUrl: server.adminUrl,
      stop,
      start: async () => {
        // TCP only (-k ''), as devstack starts it, and on the port clients already hold.
        const options = `-p ${port} -h 127.0.0.1 -k ''`;
        await ctl(["start", "-w", "-D", dataDir, "-l", join(dataDir, "server.log"), "-o", options]);
        running = true;
      },
      close: async () => {
        if (running) await stop();
        await rm(base, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(base, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Runs pg_ctl (in `cwd`, the data folder by default) as the user that owns the cluster's data
 * folder, since PostgreSQL refuses to run as root. The binary is the one the server was started
 * with, named on the first line of `postmaster.opts`, so it matches the cluster's version.
 */
export async function pgCtlOf(dataDir: string, cwd = dataDir): Promise<(args: string[]) => Promise<void>> {
  const opts = await readFile(join(dataDir, "postmaster.opts"), "utf8");
  const postgres = opts.split(" ")[0];
  if (postgres === undefined || postgres === "") throw new Error(`no server binary in ${dataDir}/postmaster.opts`);
  const pgCtl = join(dirname(postgres), "pg_ctl");
  const owner = await stat(dataDir);
  const asOwner = process.getuid?.() === 0 ? { uid: owner.uid, gid: owner.gid } : {};
  return async (args) => {
    await run(pgCtl, args, { ...asOwner, cwd });
  };
}
