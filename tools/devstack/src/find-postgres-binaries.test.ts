import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { findPostgresBinaries } from "./find-postgres-binaries.js";
import { resolvePostgresOwner } from "./resolve-postgres-owner.js";

const run = promisify(execFile);

describe("findPostgresBinaries", () => {
  it("gives programs the server's OS user can run, wherever the checkout is", async () => {
    // Run as root from a private checkout (CI's `mktemp -d`), this is the copy outside it.
    const owner = await resolvePostgresOwner();
    const { initdb, pgCtl } = await findPostgresBinaries(owner);
    for (const program of [initdb, pgCtl]) {
      const { stdout } = await run(program, ["--version"], { ...owner });
      expect(stdout).toMatch(/\(PostgreSQL\) 18\./);
    }
  });
});
