import { createTestDatabase, type TestDatabase } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dumpSchema, normaliseSchemaDump, SCHEMA_HEADER } from "../../test/schema-dump.js";
import { migrate } from "./migrate.js";

const STALE =
  "schema.sql differs from the schema the migrations make. If the change is meant, write it again with " +
  "`pnpm --filter @taskflow/history schema:dump` and commit it beside the migration";

/**
 * services/history/schema.sql is the schema the migrations make, committed so a review sees every
 * schema change as a diff (as Graphile Worker does). Writing it again: `pnpm schema:dump` in this
 * package, which runs this file with `--update`.
 */
describe("schema.sql", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    await migrate(db.url);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("is what the migrations make on a fresh database", async () => {
    const schema = normaliseSchemaDump(await dumpSchema(db.url));

    expect(schema).not.toMatch(/\b(?:jobs|job_events)_p\d{8}/);
    expect(schema).toContain("CREATE TABLE public.jobs_default (");
    await expect(schema, STALE).toMatchFileSnapshot("../../schema.sql");
  });
});

describe("normaliseSchemaDump", () => {
  const object = (name: string, type: string, sql: string) => `--\n-- Name: ${name}; Type: ${type}; Schema: public; Owner: -\n--\n\n${sql}\n\n\n`;
  const dump = (restrictKey: string, version: string, day: string) =>
    [
      `--\n-- PostgreSQL database dump\n--\n\n\\restrict ${restrictKey}\n\n`,
      `-- Dumped from database version ${version}\n-- Dumped by pg_dump version ${version}\n\n`,
      "SET statement_timeout = 0;\nSELECT pg_catalog.set_config('search_path', '', false);\n\n",
      object("jobs", "TABLE", "CREATE TABLE public.jobs (\n    id uuid NOT NULL\n)\nPARTITION BY RANGE (id);"),
      "SET default_table_access_method = heap;\n\n",
      object("jobs_default", "TABLE", "CREATE TABLE public.jobs_default (\n    id uuid NOT NULL\n);"),
      object(`jobs_p${day}`, "TABLE", `CREATE TABLE public.jobs_p${day} (\n    id uuid NOT NULL\n);`),
      object(`jobs_p${day} jobs_p${day}_pkey`, "CONSTRAINT", `ALTER TABLE ONLY public.jobs_p${day}\n    ADD CONSTRAINT jobs_p${day}_pkey PRIMARY KEY (id);`),
      object(`jobs_p${day}_pkey`, "INDEX ATTACH", `ALTER INDEX public.jobs_pkey ATTACH PARTITION public.jobs_p${day}_pkey;`),
      `--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict ${restrictKey}\n\n`,
    ].join("");

  it("keeps the objects and drops what differs between days, runs and pg_dump versions", () => {
    const a = normaliseSchemaDump(dump("AbC123", "15.20", "20261207"));

    expect(a).toBe(
      `${SCHEMA_HEADER}\n` +
        "--\n-- Name: jobs; Type: TABLE; Schema: public; Owner: -\n--\n\nCREATE TABLE public.jobs (\n    id uuid NOT NULL\n)\nPARTITION BY RANGE (id);\n" +
        "\n\n--\n-- Name: jobs_default; Type: TABLE; Schema: public; Owner: -\n--\n\nCREATE TABLE public.jobs_default (\n    id uuid NOT NULL\n);\n",
    );
    expect(normaliseSchemaDump(dump("xYz789", "18.1", "20300101"))).toBe(a);
  });
});
