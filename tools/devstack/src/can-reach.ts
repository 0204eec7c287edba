import { execFile } from "node:child_process";

/** An OS user to run a program as. */
export interface OsUser {
  uid: number;
  gid: number;
}

/**
 * Whether `user` can reach `path`: every folder on the way must let it through, and `path`
 * itself must be executable (a program) or searchable (a folder). Asked of `test -x` run as
 * that user rather than worked out from mode bits, so ACLs and group membership count exactly
 * as they will for the program run there.
 */
export function canReach(path: string, user: OsUser): Promise<boolean> {
  return new Promise((resolve) => {
    execFile("test", ["-x", path], { uid: user.uid, gid: user.gid }, (err) => resolve(!err));
  });
}
