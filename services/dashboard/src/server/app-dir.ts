import { fileURLToPath } from "node:url";

/** The built pages, dist/app of this package (`vite build` writes them), from src/server and dist/server alike. */
export const APP_DIR = fileURLToPath(new URL("../../dist/app", import.meta.url));
