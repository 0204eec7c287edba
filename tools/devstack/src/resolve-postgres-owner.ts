import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { OsUser } from "./can-reach.js";

const run = promisify(execFile);

/** The OS user PostgreSQL runs as when we are root (PostgreSQL refuses to run as root). */
const USER = "postgres";

/**
 * The OS user the embedded server runs as: `undefined` when we are not root (it then runs as
 * ourselves), else user `postgres`, created as a system user when missing. Throws when that
 * user cannot be created.
 */
export async function resolvePostgresOwner(): Promise<OsUser | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const found = await lookUp();
  if (found) return found;
  // A group of that name without the user (left by a removed package) makes useradd refuse to
  // create the user's own group, so join it instead.
  const group = (await succeeds("getent", ["group", USER])) ? ["--gid", USER] : ["--user-group"];
  const args = ["--system", ...group, "--no-create-home", USER];
  const failure = await run("useradd", args).then(() => undefined, (err: unknown) => err);
  // Another launcher may have created it at the same moment: a failure matters only when the
  // user is still missing.
  const created = await lookUp();
  if (!created) throw new Error(`could not create OS user ${USER}: ${String(failure)}`);
  return created;
}

async function lookUp(): Promise<OsUser | undefined> {
  try {
    const id = async (flag: string): Promise<number> =>
      Number((await run("id", [flag, USER])).stdout.trim());
    return { uid: await id("-u"), gid: await id("-g") };
  } catch {
    return undefined;
  }
}

const succeeds = (file: string, args: string[]): Promise<boolean> =>
  run(file, args).then(
    () => true,
    () => false,
  );
