import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFile, chmod, cp, mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "@taskflow/devstack";
import pg from "pg";
import { pgCtlOf } from "./start-private-postgres.js";

const run = promisify(execFile);

/** A hot standby of one private primary, streaming its WAL; tests may stop and start it. */
export interface PrivateReplica {
  /** Admin connection string of the standby (user postgres, database postgres); read-only. */
  adminUrl: string;
  /** `url` (a database of the primary) with the standby's host and port. */
  urlOf(url: string): string;
  /** Stops the standby (`pg_ctl stop -m fast`). */
  stop(): Promise<void>;
  /** Starts the stopped standby again on the same port; it catches up from its slot. */
  start(): Promise<void>;
  /** Stops the standby if it runs, deletes its data and drops its slot on the primary. */
  close(): Promise<void>;
}

/**
 * Folders and files of a data directory a base backup leaves out (PostgreSQL's "Making a Base
 * Backup Using the Low Level API"): runtime state of the primary, and WAL, which the standby
 * streams through its slot instead. Their folders are made again empty.
 */
const SKIPPED_CONTENTS = ["pg_wal", "pg_replslot", "pg_dynshmem", "pg_notify", "pg_serial", "pg_snapshots", "pg_stat_tmp", "pg_subtrans"];
const SKIPPED_FILES = ["postmaster.pid", "postmaster.opts", "server.log", "standby.signal", "recovery.signal"];

/**
 * Makes a streaming hot standby of `primary` (a server of {@link startPrivatePostgres}, version
 * 15 or later) and starts it on a free port. The embedded PostgreSQL ships no pg_basebackup, so
 * the base backup is taken as PostgreSQL documents it without one: a physical replication slot
 * reserves WAL from now on, `pg_backup_start` marks the backup's start, the data folder is
 * copied, and `pg_backup_stop`'s label goes into the copy. The standby then replays from that
 * label and streams the rest from the primary through the slot, authenticating as the primary's
 * `postgres` user (initdb lets it replicate over 127.0.0.1). Take it while the primary is quiet:
 * a relation dropped during the copy fails it.
 * @throws Error when the copy or the start fails; nothing is left behind.
 */
export async function startPrivateReplica(primary: { adminUrl: string }): Promise<PrivateReplica> {
  const slot = `tf_replica_${randomBytes(4).toString("hex")}`;
  const base = await mkdtemp(join(tmpdir(), "tf-replica-"));
  // mkdtemp makes the folder private; user postgres must pass through it to its data folder.
  await chmod(base, 0o755);
  const dataDir = join(base, "data");
  const admin = new pg.Client({ connectionString: primary.adminUrl });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ dir: string }>("SELECT current_setting('data_directory') AS dir");
    const primaryDir = rows[0]?.dir;
    if (primaryDir === undefined) throw new Error("primary reports no data_directory");
    await admin.query("SELECT pg_create_physical_replication_slot($1, true)", [slot]);
    await copyBaseBackup(admin, primaryDir, dataDir);
    await configureStandby(dataDir, primary.adminUrl, slot);
    const ctl = await pgCtlOf(primaryDir, base);
    const port = await freePort();
    const options = `-p ${port} -h 127.0.0.1 -k ''`;
    const start = () => ctl(["start", "-w", "-D", dataDir, "-l", join(dataDir, "server.log"), "-o", options]);
    await start();
    let running = true;
    const stop = async (): Promise<void> => {
      await ctl(["stop", "-w", "-m", "fast", "-D", dataDir]);
      running = false;
    };
    const urlOf = (url: string): string => {
      const u = new URL(url);
      u.host = `127.0.0.1:${port}`;
      return u.toString();
    };
    return {
      adminUrl: urlOf(primary.adminUrl),
      urlOf,
      stop,
      start: async () => {
        await start();
        running = true;
      },
      close: async () => {
        if (running) await stop();
        await rm(base, { recursive: true, force: true });
        await dropSlot(primary.adminUrl, slot);
      },
    };
  } catch (err) {
    await rm(base, { recursive: true, force: true });
    await admin.query("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", [slot]).catch(() => undefined);
    throw err;
  } finally {
    await admin.end();
  }
}

/**
 * Copies `from` to `to` between `pg_backup_start` and `pg_backup_stop` on `admin`'s session
 * (a non-exclusive backup lives as long as that session), and writes the backup label and
 * tablespace map into the copy. The copy belongs to the primary's owner, as the original does.
 */
async function copyBaseBackup(admin: pg.Client, from: string, to: string): Promise<void> {
  await admin.query("SELECT pg_backup_start($1, true)", [`taskflow replica ${basename(dirname(to))}`]);
  let stopped = false;
  try {
    await cp(from, to, {
      recursive: true,
      verbatimSymlinks: true,
      filter: (src) => {
        const rel = src.slice(from.length + 1);
        const parent = dirname(rel);
        return !SKIPPED_FILES.includes(rel) && !SKIPPED_CONTENTS.includes(parent) && basename(rel) !== "pgsql_tmp";
      },
    });
    const { rows } = await admin.query<{ labelfile: string; spcmapfile: string }>(
      "SELECT labelfile, spcmapfile FROM pg_backup_stop(false)",
    );
    stopped = true;
    const label = rows[0];
    if (label === undefined) throw new Error("pg_backup_stop returned no label");
    await writeFile(join(to, "backup_label"), label.labelfile);
    if (label.spcmapfile !== "") await writeFile(join(to, "tablespace_map"), label.spcmapfile);
    await mkdir(join(to, "pg_wal", "archive_status"), { recursive: true });
    await chmod(to, 0o700);
    const owner = await stat(from);
    if (process.getuid?.() === 0) await run("chown", ["-R", `${owner.uid}:${owner.gid}`, to]);
  } finally {
    if (!stopped) await admin.query("SELECT pg_backup_stop(false)").catch(() => undefined);
  }
}

/**
 * Makes the copy a hot standby: `standby.signal`, and the primary's address and the slot in
 * postgresql.auto.conf, which the server reads after postgresql.conf.
 */
async function configureStandby(dataDir: string, primaryUrl: string, slot: string): Promise<void> {
  const u = new URL(primaryUrl);
  const conninfo = [
    `host=${u.hostname}`,
    `port=${u.port || "5432"}`,
    `user=${decodeURIComponent(u.username || "postgres")}`,
    ...(u.password === "" ? [] : [`password=${decodeURIComponent(u.password)}`]),
    `application_name=${slot}`,
  ].join(" ");
  const quote = (s: string): string => `'${s.replaceAll("\\", "\\\\").replaceAll("'", "''")}'`;
  await appendFile(
    join(dataDir, "postgresql.auto.conf"),
    `primary_conninfo = ${quote(conninfo)}\nprimary_slot_name = ${quote(slot)}\nhot_standby = on\n`,
  );
  await writeFile(join(dataDir, "standby.signal"), "");
  const owner = await stat(dataDir);
  if (process.getuid?.() === 0) {
    await run("chown", [`${owner.uid}:${owner.gid}`, join(dataDir, "postgresql.auto.conf"), join(dataDir, "standby.signal")]);
  }
}

/** Drops the standby's slot, so the primary stops keeping WAL for it; a stopped primary keeps it. */
async function dropSlot(primaryUrl: string, slot: string): Promise<void> {
  const client = new pg.Client({ connectionString: primaryUrl, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", [slot]);
  } catch {
    // The primary is stopped or gone: its data, slot included, goes with it.
  } finally {
    await client.end().catch(() => undefined);
  }
}


