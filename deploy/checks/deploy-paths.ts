import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** This package's folder, whatever the working directory of the test run. */
export const DEPLOY_DIR = dirname(dirname(fileURLToPath(import.meta.url)));

/** The monorepo root, where the Dockerfile and .dockerignore live. */
export const REPO_ROOT = dirname(DEPLOY_DIR);

/** The overlays under deploy/overlays, by folder name. */
export function listOverlays(): string[] {
  return readdirSync(join(DEPLOY_DIR, "overlays"), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}
