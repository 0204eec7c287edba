import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root folder (this file is `tools/devstack/{src,dist}/store-dir.*`). */
export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

/**
 * Where a store started by devstack keeps its files: `<repo>/.taskflow/<name>` (git-ignored),
 * so the embedded database survives restarts.
 */
export const storeDir = (name: "postgres" | "redis"): string => join(repoRoot, ".taskflow", name);
