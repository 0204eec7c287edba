import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fromJson } from "@bufbuild/protobuf";
import { JobSchema, JobStatus } from "@taskflow/proto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type DbFixture, setupDatabase } from "../../test/fixtures.js";
import {
  addJob,
  DAY_MS,
  dayStartMs,
  eventCount,
  filesIn,
  jobIds,
  makeDayPartitions,
  pinToday,
  readArchive,
  retentionTestOptions,
  suffixOf,
  tableExists,
  tempArchiveDir,
} from "../../test/retention-data.js";
import { buildScenario, dayTables, HOUR, kept, removed, type Scenario, snapshot, sorted } from "../../test/retention-scenario.js";
import { ArchiveError } from "./archive.js";
import type { RetentionOptions } from "./options.js";
import { runRetentionPass } from "./run-retention-pass.js";

// Each test builds the days on a database and an archive directory of its own, and runs every
// pass it checks: none depends on what an earlier test removed or archived.
describe("a retention pass over hand-built days", () => {
  let f: DbFixture;
  let s: Scenario;
  let archive: Awaited<ReturnType<typeof tempArchiveDir>>;
  let options: RetentionOptions;
  beforeEach(async () => {
    f = await setupDatabase();
    await pinToday(f.pool);
    archive = await tempArchiveDir();
    s = await buildScenario(f.pool);
    options = retentionTestOptions(f.pool, { archiveDir: archive.dir });
  });
  afterEach(async () => {
    await f?.close();
    await archive?.remove();
  });

  it("does nothing at all with RETENTION_DAYS=0", async () => {
    const before = await snapshot(f.pool);

    const r = await runRetentionPass({ ...options, retentionDays: 0 }, { dryRun: false });

    expect(r).toEqual({ cutoff: undefined, droppedPartitions: [], jobsDeleted: 0, jobsArchived: 0, archiveFiles: [] });
    expect(await snapshot(f.pool)).toEqual(before);
    expect(await filesIn(archive.dir)).toEqual([]);
  });

  it("reports on a dry run what would go, and changes nothing", async () => {
    const before = await snapshot(f.pool);

    const r = await runRetentionPass(options, { dryRun: true });

    expect(Math.abs((r.cutoff?.getTime() ?? 0) - (Date.now() - 10 * DAY_MS))).toBeLessThan(60_000);
    expect(r.droppedPartitions).toEqual([...dayTables(-40), ...dayTables(-39)]);
    expect(r.jobsDeleted).toBe(s.goneC.length + s.goneDefault.length);
    expect(r).toMatchObject({ jobsArchived: 0, archiveFiles: [] });
    expect(await snapshot(f.pool)).toEqual(before);
    expect(await filesIn(archive.dir)).toEqual([]);
  });

  it("removes nothing and reports the error when the archive cannot be written", async () => {
    const before = await snapshot(f.pool);
    const notDir = join(archive.dir, "..", `${archive.dir.split("/").pop() ?? "x"}-file`);
    await writeFile(notDir, "not a directory");

    const err = await runRetentionPass({ ...options, archiveDir: join(notDir, "archive") }, { dryRun: false })
      .catch((e: unknown) => e)
      .finally(() => rm(notDir));

    expect(err).toBeInstanceOf(ArchiveError);
    expect((err as Error).message).toMatch(/ENOTDIR/);
    expect(await snapshot(f.pool)).toEqual(before);
  });

  it("drops the finished old days whole, deletes the other old finished jobs row by row, and keeps the rest", async () => {
    const r = await runRetentionPass(options, { dryRun: false });

    expect(r.droppedPartitions).toEqual([...dayTables(-40), ...dayTables(-39)]);
    for (const table of [...dayTables(-40), ...dayTables(-39)]) expect(await tableExists(f.pool, table)).toBe(false);
    for (const table of [...dayTables(-30), ...dayTables(-2), "jobs_default", "job_events_default"]) expect(await tableExists(f.pool, table)).toBe(true);
    expect(r.jobsDeleted).toBe(s.goneC.length + s.goneDefault.length);
    expect(r.jobsArchived).toBe(removed(s).length);
    expect(await jobIds(f.pool)).toEqual(sorted(kept(s)));
    expect(await eventCount(f.pool, removed(s))).toBe(0);
    // Two pending jobs with their submitted event, one processing with two, three finished with three.
    expect(await eventCount(f.pool, kept(s))).toBe(2 * 1 + 1 * 2 + 3 * 3);
    const { rows } = await f.pool.query<{ status: string }>("SELECT status FROM jobs WHERE id = ANY($1::uuid[]) ORDER BY id", [s.keptC]);
    expect(rows.map((x) => x.status).sort()).toEqual(["completed", "pending", "processing"]);
  });

  it("archives every removed job, with its trail, in files that sort by day", async () => {
    await runRetentionPass(options, { dryRun: false });

    const names = await filesIn(archive.dir);
    expect(names).toHaveLength(4);
    expect(names.every((n) => /^jobs-\d{8}-(partition|batch)-\d{8}T\d{9}Z-[0-9a-f]{8}\.ndjson\.gz$/.test(n))).toBe(true);
    const [defaultBatch, dayA, dayB, batchC] = names;
    expect(defaultBatch).toMatch(new RegExp(`^jobs-${suffixOf(-50)}-batch-`));
    expect(dayA).toMatch(new RegExp(`^jobs-${suffixOf(-40)}-partition-`));
    expect(dayB).toMatch(new RegExp(`^jobs-${suffixOf(-39)}-partition-`));
    expect(batchC).toMatch(new RegExp(`^jobs-${suffixOf(-30)}-batch-`));

    const linesA = await readArchive(join(archive.dir, dayA as string));
    expect(linesA.map((l) => l.id)).toEqual(sorted(s.dayA));
    const byId = new Map(linesA.map((l) => [l.id, l]));
    const expected: [string, JobStatus, string][] = [
      [s.dayA[0] as string, JobStatus.COMPLETED, "JOB_EVENT_TYPE_COMPLETED"],
      [s.dayA[1] as string, JobStatus.FAILED, "JOB_EVENT_TYPE_FAILED"],
      [s.dayA[2] as string, JobStatus.CANCELLED, "JOB_EVENT_TYPE_CANCELLED"],
    ];
    for (const [id, status, last] of expected) {
      const { events, ...jobJson } = byId.get(id) as { events: { seq: number; type: string; jobId: string }[] };
      const job = fromJson(JobSchema, jobJson as never);
      expect(job).toMatchObject({ id, status, type: "email.send", lastEventSeq: 3 });
      expect(job.payload).toEqual({ n: expect.any(Number), tag: "retention" });
      expect(events.map((e) => [e.jobId, e.seq, e.type])).toEqual([
        [id, 1, "JOB_EVENT_TYPE_SUBMITTED"],
        [id, 2, "JOB_EVENT_TYPE_STARTED"],
        [id, 3, last],
      ]);
    }
    expect((await readArchive(join(archive.dir, dayB as string))).map((l) => l.id)).toEqual(sorted(s.dayB));
    expect((await readArchive(join(archive.dir, batchC as string))).map((l) => l.id)).toEqual(sorted(s.goneC));
    expect((await readArchive(join(archive.dir, defaultBatch as string))).map((l) => l.id)).toEqual(sorted(s.goneDefault));
  });

  it("finds nothing more on the next pass", async () => {
    await runRetentionPass(options, { dryRun: false });
    const before = await snapshot(f.pool);

    const r = await runRetentionPass(options, { dryRun: false });

    expect(r).toMatchObject({ droppedPartitions: [], jobsDeleted: 0, jobsArchived: 0, archiveFiles: [] });
    expect(await snapshot(f.pool)).toEqual(before);
  });
});

describe("retention's row batches", () => {
  let f: DbFixture;
  let archive: Awaited<ReturnType<typeof tempArchiveDir>>;
  beforeEach(async () => {
    f = await setupDatabase();
    await pinToday(f.pool);
    archive = await tempArchiveDir();
    await makeDayPartitions(f.pool, -30);
    await addJob(f.pool, dayStartMs(-30), "pending");
  });
  afterEach(async () => {
    await f?.close();
    await archive?.remove();
  });

  const addFinished = async (n: number) => {
    const ids: string[] = [];
    for (let i = 1; i <= n; i++) ids.push(await addJob(f.pool, dayStartMs(-30) + i * HOUR, "completed"));
    return ids;
  };

  it("removes all five eligible jobs with batches of two, one archive file per batch", async () => {
    const ids = await addFinished(5);

    const r = await runRetentionPass(retentionTestOptions(f.pool, { batchSize: 2, archiveDir: archive.dir }), { dryRun: false });

    expect(r.jobsDeleted).toBe(5);
    expect(r.archiveFiles).toHaveLength(3);
    const perFile = await Promise.all(r.archiveFiles.map((p) => readArchive(p)));
    expect(perFile.map((lines) => lines.length)).toEqual([2, 2, 1]);
    expect(perFile.flat().map((l) => l.id)).toEqual(sorted(ids));
    expect(await jobIds(f.pool)).toHaveLength(1);
  });

  it("stops after the pass's batch budget and leaves the rest to the next pass", async () => {
    await addFinished(5);
    const o = retentionTestOptions(f.pool, { batchSize: 2, maxBatches: 2 });

    expect((await runRetentionPass(o, { dryRun: true })).jobsDeleted).toBe(4);
    expect((await runRetentionPass(o, { dryRun: false })).jobsDeleted).toBe(4);
    expect(await jobIds(f.pool)).toHaveLength(2);
    expect((await runRetentionPass(o, { dryRun: false })).jobsDeleted).toBe(1);
    expect(await jobIds(f.pool)).toHaveLength(1);
  });
});
