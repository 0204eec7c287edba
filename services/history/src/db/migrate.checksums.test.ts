import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MIGRATIONS_DIR } from "./migrate.js";

/** `sha256sum` output, one `<hex>  <file>` line per migration in the order they run. */
const CHECKSUMS = join(MIGRATIONS_DIR, "CHECKSUMS");

interface Listed {
  hash: string;
  name: string;
}

async function readChecksums(): Promise<Listed[]> {
  const text = await readFile(CHECKSUMS, "utf8");
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line, i) => {
      const m = /^([0-9a-f]{64}) [ *](\S+)$/.exec(line);
      if (m === null) throw new Error(`migrations/CHECKSUMS line ${i + 1} is not "<sha256>  <file>": ${line}`);
      return { hash: m[1] as string, name: m[2] as string };
    });
}

const sha256 = async (name: string): Promise<string> =>
  createHash("sha256").update(await readFile(join(MIGRATIONS_DIR, name))).digest("hex");

/**
 * Everything that breaks the rule "migrations are append-only": a database that ran a migration
 * never runs it again, so editing, removing or reordering one leaves installed databases with a
 * schema no fresh one gets. Each problem says what to do instead.
 */
async function appendOnlyProblems(): Promise<string[]> {
  const listed = await readChecksums();
  const files = (await readdir(MIGRATIONS_DIR)).filter((n) => n.endsWith(".sql") && !n.startsWith(".")).sort();
  const problems: string[] = [];
  const names = listed.map((l) => l.name);
  if (names.join("\n") !== [...names].sort().join("\n") || new Set(names).size !== names.length) {
    problems.push("migrations/CHECKSUMS must list each migration once, in the order they run (by name)");
  }
  for (const { hash, name } of listed) {
    if (!files.includes(name)) {
      problems.push(`${name} is listed in migrations/CHECKSUMS but missing: migrations are append-only; restore it`);
    } else if ((await sha256(name)) !== hash) {
      problems.push(
        `${name} changed after it was listed in migrations/CHECKSUMS: migrations are append-only; ` +
          "restore it (git checkout) and make the change in a new migration",
      );
    }
  }
  const last = names.at(-1) ?? "";
  for (const name of files.filter((n) => !names.includes(n))) {
    if (name < last) {
      problems.push(`${name} sorts before ${last}, which is listed already: name a new migration after the last one`);
      continue;
    }
    problems.push(
      `${name} is not listed in migrations/CHECKSUMS: once it is final, append its line ` +
        `(cd services/history/migrations && sha256sum ${name} >> CHECKSUMS), which is: ${await sha256(name)}  ${name}`,
    );
  }
  return problems;
}

describe("migrations are append-only", () => {
  it("lists every migration in migrations/CHECKSUMS, each unchanged since it was listed", async () => {
    expect(await appendOnlyProblems()).toEqual([]);
  });
});
