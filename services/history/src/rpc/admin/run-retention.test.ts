import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { HistoryAdminService, HistoryService } from "@taskflow/proto";
import { rejection } from "@taskflow/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type DbFixture, quietLogger, setupDatabase } from "../../../test/fixtures.js";
import {
  addJob,
  DAY_MS,
  dayStartMs,
  filesIn,
  jobIds,
  makeDayPartitions,
  pinToday,
  readArchive,
  suffixOf,
  tableExists,
  tempArchiveDir,
} from "../../../test/retention-data.js";
import { HISTORY_DEFAULTS, type HistoryConfig } from "../../config.js";
import { type RunningHistory, startHistory } from "../../start-history.js";

const HOUR = 3_600_000;

// Each test gets its own database, days, archive directory and server: the ones checking that
// nothing was removed do not depend on running before the one that removes.
describe("RunRetention over gRPC (HTTP/2)", () => {
  let f: DbFixture;
  let archive: Awaited<ReturnType<typeof tempArchiveDir>>;
  let servers: RunningHistory[] = [];
  let ids: { dropped: string[]; deleted: string[]; kept: string[] };

  /** A history server on the test database; retention's loop would first run a day later. */
  const serve = async (over: Partial<HistoryConfig>) => {
    const history = await startHistory(
      {
        ...HISTORY_DEFAULTS,
        port: 0,
        internalPort: 0,
        databaseUrl: f.db.url,
        pageTokenSecret: "test-secret-0123456789",
        retentionDays: 10,
        retentionIntervalMs: 86_400_000,
        ...over,
      },
      { logger: quietLogger },
    );
    servers.push(history);
    const transport = createGrpcTransport({ baseUrl: history.url });
    return { admin: createClient(HistoryAdminService, transport), history: createClient(HistoryService, transport) };
  };
  let admin: Client<typeof HistoryAdminService>;
  let history: Client<typeof HistoryService>;

  beforeEach(async () => {
    f = await setupDatabase();
    await pinToday(f.pool);
    archive = await tempArchiveDir();
    await makeDayPartitions(f.pool, -40);
    await makeDayPartitions(f.pool, -30);
    ids = {
      dropped: [await addJob(f.pool, dayStartMs(-40) + HOUR, "completed"), await addJob(f.pool, dayStartMs(-40) + 2 * HOUR, "failed")],
      deleted: [await addJob(f.pool, dayStartMs(-30) + HOUR, "cancelled"), await addJob(f.pool, dayStartMs(-50) + HOUR, "completed")],
      kept: [await addJob(f.pool, dayStartMs(-30) + 2 * HOUR, "pending"), await addJob(f.pool, dayStartMs(-3), "completed")],
    };
    ({ admin, history } = await serve({ retentionArchiveDir: archive.dir, retentionBatchSize: 1 }));
  });
  afterEach(async () => {
    for (const s of servers) await s.close();
    servers = [];
    await f?.close();
    await archive?.remove();
  });

  const dayTables = (day: number) => [`jobs_p${suffixOf(day)}`, `job_events_p${suffixOf(day)}`];

  it("answers a dry run with what would go, and changes nothing", async () => {
    const before = await jobIds(f.pool);

    const res = await admin.runRetention({ dryRun: true });

    const cutoffMs = res.cutoff === undefined ? Number.NaN : timestampDate(res.cutoff).getTime();
    expect(Math.abs(cutoffMs - (Date.now() - 10 * DAY_MS))).toBeLessThan(60_000);
    expect(res.droppedPartitions).toEqual(dayTables(-40));
    expect(res.jobsDeleted).toBe(2n);
    expect(res.jobsArchived).toBe(0n);
    expect(res.archiveFiles).toEqual([]);
    expect(await jobIds(f.pool)).toEqual(before);
    expect(await filesIn(archive.dir)).toEqual([]);
  });

  it("refuses with failed_precondition when the archive cannot be written, and removes nothing", async () => {
    const notDir = join(archive.dir, "plain-file");
    await writeFile(notDir, "x");
    const broken = await serve({ retentionArchiveDir: join(notDir, "archive") });
    const before = await jobIds(f.pool);

    const err = await rejection(broken.admin.runRetention({}));

    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.rawMessage).toContain("retention archive could not be written");
    expect(await jobIds(f.pool)).toEqual(before);
    expect(await tableExists(f.pool, dayTables(-40)[0] as string)).toBe(true);
  });

  it("removes nothing and answers no cutoff with RETENTION_DAYS=0", async () => {
    const off = await serve({ retentionDays: 0 });
    const before = await jobIds(f.pool);

    const res = await off.admin.runRetention({});

    expect(res.cutoff).toBeUndefined();
    expect(res).toMatchObject({ droppedPartitions: [], jobsDeleted: 0n, jobsArchived: 0n, archiveFiles: [] });
    expect(await jobIds(f.pool)).toEqual(before);
  });

  it("runs a pass: drops the finished day, deletes the other old finished jobs, archives them all", async () => {
    const res = await admin.runRetention({});

    expect(res.droppedPartitions).toEqual(dayTables(-40));
    expect(res.jobsDeleted).toBe(2n);
    expect(res.jobsArchived).toBe(4n);
    expect(res.archiveFiles).toHaveLength(3);
    const archived = (await Promise.all(res.archiveFiles.map((p) => readArchive(p)))).flat().map((l) => l.id);
    expect(archived.sort()).toEqual([...ids.dropped, ...ids.deleted].sort());
    for (const id of [...ids.dropped, ...ids.deleted]) expect((await rejection(history.getJob({ id }))).code).toBe(Code.NotFound);
    for (const id of ids.kept) expect((await history.getJob({ id })).job?.id).toBe(id);
    expect((await history.listJobEvents({ jobId: ids.kept[1] as string })).events).toHaveLength(3);
  });
});
