import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** pg_dump to run: `PG_DUMP` when set, else the one on PATH (its major version must be at least the server's). */
const pgDump = (): string => process.env.PG_DUMP ?? "pg_dump";

/** What schema.sql opens with, so a reader knows where it comes from. */
export const SCHEMA_HEADER = `-- The schema history's migrations make, as \`pg_dump --schema-only --no-owner --no-privileges\`
-- prints it, without the dump's version lines and settings and without the day partitions of
-- jobs and job_events (their names hold the day the migrations ran; see test/schema-dump.ts).
-- Generated: do not edit. \`pnpm --filter @taskflow/history schema:dump\` writes it again, and
-- src/db/schema.test.ts fails while it differs from what the migrations make.
`;

/** The schema of the database at `url`, as pg_dump prints it. */
export async function dumpSchema(url: string): Promise<string> {
  try {
    const { stdout } = await run(pgDump(), ["--schema-only", "--no-owner", "--no-privileges", `--dbname=${url}`], {
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    const why = e.code === "ENOENT" ? `${pgDump()} is not installed (Debian: postgresql-client)` : (e.stderr ?? e.message).trim();
    throw new Error(`pg_dump failed: ${why}`, { cause: err });
  }
}

/** A day partition, its key, its indexes or their attachments: `jobs_p20261207`, `job_events_p20261207_pkey`. */
const DAY_PARTITION = /\b(?:jobs|job_events)_p\d{8}/;

/** Lines that differ between pg_dump versions and runs, whatever the schema. */
const UNSTABLE_LINE = [
  /^SET \w+ = .*;$/, // session settings of the restore
  /^SELECT pg_catalog\.set_config\(/, // search_path of the restore
  /^\\(?:un)?restrict /, // psql's restrict key, random on every run (pg_dump 17.6, 16.10, 15.14 and on)
  /^-- (?:Dumped from|Dumped by) /, // server and pg_dump versions
];

/** `-- Name: <name>; Type: <type>; ...`, the comment pg_dump opens each object with. */
const OBJECT_HEADER = /^-- Name: (.*?); Type: /;

/**
 * A pg_dump schema made stable: the opening comments and settings go, and so does every object
 * of a day partition (those depend on the day the migrations ran); each remaining object keeps
 * pg_dump's header and text, trimmed of blank lines around it. The DEFAULT partitions stay.
 */
export function normaliseSchemaDump(dump: string): string {
  const lines = dump.split("\n").filter((line) => !UNSTABLE_LINE.some((re) => re.test(line)));
  const objects: { name: string; lines: string[] }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const name = OBJECT_HEADER.exec(line)?.[1];
    if (name !== undefined && lines[i - 1] === "--" && lines[i + 1] === "--") {
      objects.at(-1)?.lines.pop(); // the header's opening "--"
      objects.push({ name, lines: [line] });
      i += 1; // and its closing one
    } else {
      objects.at(-1)?.lines.push(line);
    }
  }
  const kept = objects.filter((o) => !DAY_PARTITION.test(o.name));
  const text = kept.map((o) => {
    const [header, ...body] = o.lines;
    const sql = body.join("\n").replace(/\n--\n-- PostgreSQL database dump complete\n--\n?/, "").trim();
    return `--\n${header}\n--\n\n${sql}\n`;
  });
  return `${SCHEMA_HEADER}\n${text.join("\n\n")}`;
}
