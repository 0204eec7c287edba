import { createHash } from "node:crypto";
import { chmod, mkdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { canReach, type OsUser } from "./can-reach.js";

/** Where root keeps the data of clusters whose own folder user postgres cannot reach. */
const FALLBACK_ROOT = "/var/lib/taskflow";
/** Hex digits of the folder's hash that name its fallback: enough to keep repositories apart. */
const HASH_DIGITS = 12;

/**
 * The data folder the embedded server gets instead of `dir`: `dir` itself when we run as
 * ourselves (`owner` undefined) or when `owner` can reach it. Otherwise (root, and the repository
 * checked out in a private folder such as `mktemp -d` or /root) a folder of its own under
 * /var/lib/taskflow, named by a hash of `dir`, so that it holds the same cluster on every run;
 * says so in one line on stderr. Creates the folder that will hold the data folder.
 */
export async function chooseDataDir(dir: string, owner?: OsUser): Promise<string> {
  const wanted = resolve(dir);
  await mkdir(dirname(wanted), { recursive: true });
  if (!owner || (await canReach(dirname(wanted), owner))) return wanted;
  const hash = createHash("sha256").update(wanted).digest("hex").slice(0, HASH_DIGITS);
  const fallback = join(FALLBACK_ROOT, `postgres-${hash}`);
  await mkdir(FALLBACK_ROOT, { recursive: true });
  // Root's umask may have made it private; user postgres must pass through it.
  await chmod(FALLBACK_ROOT, 0o755);
  console.error(`user postgres cannot reach ${wanted}: embedded PostgreSQL data is in ${fallback}`);
  return fallback;
}
