import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";

/** The absolute path of an executable `command` found in `pathList` (a PATH value), if any. */
export function findOnPath(command: string, pathList = process.env.PATH ?? ""): string | undefined {
  for (const dir of pathList.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // Not in this folder; try the next one.
    }
  }
  return undefined;
}
