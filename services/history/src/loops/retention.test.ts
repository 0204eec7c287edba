import { join } from "node:path";
import { eventually } from "@taskflow/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { capturingLogger, type DbFixture, setupDatabase } from "../../test/fixtures.js";
import { addJob, dayStartMs, jobIds, pinToday, retentionTestOptions, tempArchiveDir } from "../../test/retention-data.js";
import { RetentionLoop } from "./retention.js";

describe("RetentionLoop", () => {
  let f: DbFixture;
  let archive: Awaited<ReturnType<typeof tempArchiveDir>>;
  // A database and an archive directory per test: each test holds only the jobs it added.
  beforeEach(async () => {
    f = await setupDatabase();
    await pinToday(f.pool);
    archive = await tempArchiveDir();
  });
  afterEach(async () => {
    await f?.close();
    await archive?.remove();
  });

  /** A job finished 40 days ago; no partition holds that day, so it sits in DEFAULT. */
  const oldFinished = () => addJob(f.pool, dayStartMs(-40), "completed");

  it("never runs with RETENTION_DAYS=0, and its pass removes nothing", async () => {
    const id = await oldFinished();
    const { logger, lines } = capturingLogger();
    const loop = new RetentionLoop({ ...retentionTestOptions(f.pool, { retentionDays: 0, logger }), intervalMs: 10 });

    loop.start();
    await loop.stop();

    expect(lines.map((l) => l.msg)).toEqual(["retention is off (RETENTION_DAYS=0)"]);
    expect(await loop.runOnce()).toMatchObject({ cutoff: undefined, jobsDeleted: 0 });
    expect(await jobIds(f.pool)).toContain(id);
  });

  it("keeps retrying a pass whose archive cannot be written, removing nothing, until it can", async () => {
    const id = await oldFinished();
    await oldFinished();
    const { logger, lines } = capturingLogger();
    const broken = new RetentionLoop({ ...retentionTestOptions(f.pool, { archiveDir: join(archive.dir, "missing"), logger }), intervalMs: 10 });

    broken.start();
    await eventually(() => Promise.resolve(lines.filter((l) => l.msg === "loop run failed").length >= 2 ? true : undefined));
    await broken.stop();

    const failure = lines.find((l) => l.msg === "loop run failed") as { err: { type: string; message: string } };
    expect(failure.err).toMatchObject({ type: "ArchiveError", message: expect.stringContaining("ENOENT") });
    expect(await jobIds(f.pool)).toContain(id);

    const loop = new RetentionLoop({ ...retentionTestOptions(f.pool, { archiveDir: archive.dir, logger }), intervalMs: 10 });
    loop.start();
    try {
      await eventually(async () => ((await jobIds(f.pool)).includes(id) ? undefined : true));
    } finally {
      await loop.stop();
    }
    expect(lines.some((l) => l.msg === "retention removed finished jobs" && l.jobs_deleted === 2)).toBe(true);
  });
});
