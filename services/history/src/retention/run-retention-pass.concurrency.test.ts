import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capturingLogger, type DbFixture, setupDatabase, waitForLockWaiter } from "../../test/fixtures.js";
import {
  eventCount,
  filesIn,
  jobIds,
  pinToday,
  readArchive,
  retentionTestOptions,
  suffixOf,
  tableExists,
  tempArchiveDir,
} from "../../test/retention-data.js";
import { buildScenario, dayTables, kept, removed, type Scenario, sorted } from "../../test/retention-scenario.js";
import { runRetentionPass } from "./run-retention-pass.js";

describe("retention beside other sessions", () => {
  let f: DbFixture;
  let s: Scenario;
  let archive: Awaited<ReturnType<typeof tempArchiveDir>>;
  beforeAll(async () => {
    f = await setupDatabase();
    await pinToday(f.pool);
    archive = await tempArchiveDir();
    s = await buildScenario(f.pool);
  });
  afterAll(async () => {
    await f?.close();
    await archive?.remove();
  });

  it("gives up a drop within the lock timeout while a reader holds the tables, archives nothing for it, and drops it later", async () => {
    const blocker = new pg.Client({ connectionString: f.db.url });
    await blocker.connect();
    const { logger, lines } = capturingLogger();
    const o = retentionTestOptions(f.pool, { archiveDir: archive.dir, lockTimeoutMs: 150, logger });
    try {
      await blocker.query("BEGIN");
      await blocker.query("LOCK TABLE jobs IN ACCESS SHARE MODE");
      const started = performance.now();

      const r = await runRetentionPass(o, { dryRun: false });

      expect(performance.now() - started).toBeLessThan(5_000);
      expect(r.droppedPartitions).toEqual([]);
      expect(r.jobsDeleted).toBe(s.goneC.length + s.goneDefault.length);
      expect((await filesIn(archive.dir)).filter((n) => n.includes("-partition-"))).toEqual([]);
      expect(await tableExists(f.pool, `jobs_p${suffixOf(-40)}`)).toBe(true);
      expect(await eventCount(f.pool, s.dayA)).toBe(9);
      expect(lines.filter((l) => l.msg === "retention gave up waiting for a lock").map((l) => l.partition)).toEqual([
        `jobs_p${suffixOf(-40)}`,
        `jobs_p${suffixOf(-39)}`,
      ]);
    } finally {
      await blocker.query("COMMIT");
      await blocker.end();
    }

    const later = await runRetentionPass(o, { dryRun: false });

    expect(later.droppedPartitions).toEqual([...dayTables(-40), ...dayTables(-39)]);
    expect((await filesIn(archive.dir)).filter((n) => n.includes("-partition-"))).toHaveLength(2);
    expect(await jobIds(f.pool)).toEqual(sorted(kept(s)));
  });
});

describe("two replicas running retention at once", () => {
  let f: DbFixture;
  let s: Scenario;
  let archive: Awaited<ReturnType<typeof tempArchiveDir>>;
  beforeAll(async () => {
    f = await setupDatabase();
    await pinToday(f.pool);
    archive = await tempArchiveDir();
    s = await buildScenario(f.pool);
  });
  afterAll(async () => {
    await f?.close();
    await archive?.remove();
  });

  it("removes and archives every eligible job exactly once between them", async () => {
    const o = retentionTestOptions(f.pool, { archiveDir: archive.dir, batchSize: 1 });

    const [a, b] = await Promise.all([runRetentionPass(o, { dryRun: false }), runRetentionPass(o, { dryRun: false })]);

    expect(sorted([...a.droppedPartitions, ...b.droppedPartitions])).toEqual(sorted([...dayTables(-40), ...dayTables(-39)]));
    expect(a.jobsDeleted + b.jobsDeleted).toBe(s.goneC.length + s.goneDefault.length);
    expect(await jobIds(f.pool)).toEqual(sorted(kept(s)));
    const archived = (await Promise.all([...a.archiveFiles, ...b.archiveFiles].map((p) => readArchive(p)))).flat().map((l) => l.id as string);
    expect(sorted(archived)).toEqual(sorted(removed(s)));
    expect(await filesIn(archive.dir)).toHaveLength(a.archiveFiles.length + b.archiveFiles.length);
  });
});

describe("an event arriving while retention archives a day", () => {
  let f: DbFixture;
  let s: Scenario;
  let archive: Awaited<ReturnType<typeof tempArchiveDir>>;
  beforeAll(async () => {
    f = await setupDatabase();
    await pinToday(f.pool);
    archive = await tempArchiveDir();
    s = await buildScenario(f.pool);
  });
  afterAll(async () => {
    await f?.close();
    await archive?.remove();
  });

  it("keeps the day (and discards its archive) when the day no longer matches the archive, then archives it whole next pass", async () => {
    const blocker = new pg.Client({ connectionString: f.db.url });
    await blocker.connect();
    const o = retentionTestOptions(f.pool, { archiveDir: archive.dir, lockTimeoutMs: 10_000 });
    const late = s.dayA[0] as string;
    let pass: ReturnType<typeof runRetentionPass> | undefined;
    try {
      await blocker.query("BEGIN");
      await blocker.query("LOCK TABLE ONLY jobs IN ACCESS SHARE MODE");
      pass = runRetentionPass(o, { dryRun: false });
      // Day -40 is archived and the pass waits for the parents' lock: an event comes in now.
      await waitForLockWaiter(f.pool);
      await f.pool.query(
        "INSERT INTO job_events (job_id, seq, type, status, attempt, actor, occurred_at) VALUES ($1, 4, 'cancelled', 'cancelled', 1, 'test', now())",
        [late],
      );
    } finally {
      await blocker.query("COMMIT");
      await blocker.end();
    }
    const r = await pass;

    expect(r?.droppedPartitions).toEqual(dayTables(-39));
    expect(await tableExists(f.pool, `jobs_p${suffixOf(-40)}`)).toBe(true);
    expect((await filesIn(archive.dir)).filter((n) => n.startsWith(`jobs-${suffixOf(-40)}-`))).toEqual([]);

    const next = await runRetentionPass(o, { dryRun: false });

    expect(next.droppedPartitions).toEqual(dayTables(-40));
    const [file] = next.archiveFiles;
    const line = (await readArchive(file as string)).find((l) => l.id === late) as { events: { seq: number }[] };
    expect(line.events.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
  });
});
