// Copies the Lua scripts next to the compiled scripts.ts, which reads them at run time.
import { cpSync } from "node:fs";

cpSync(new URL("../src/redis/scripts", import.meta.url), new URL("../dist/redis/scripts", import.meta.url), {
  recursive: true,
  filter: (src) => !/\.[^/]+$/.test(src) || src.endsWith(".lua"),
});
