import { writeFile } from "node:fs/promises";
import { leaseIdOf } from "../mapping/to-proto.js";
import { join } from "node:path";
import { fromJson } from "@bufbuild/protobuf";
import { JobEventSchema, JobEventType, JobSchema, JobStatus } from "@taskflow/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uuidAt } from "../../test/fixtures.js";
import { filesIn, readArchive, tempArchiveDir } from "../../test/retention-data.js";
import type { ArchivedJob } from "../db/queries/retention.js";
import { ArchiveError, archiveFileName, writeArchive } from "./archive.js";

/** A finished job with a two-event trail, as retention reads it. */
function archived(createdMs: number): ArchivedJob {
  const id = uuidAt(createdMs);
  const at = (ms: number) => new Date(createdMs + ms);
  const event = (seq: number, type: "submitted" | "completed", status: "pending" | "completed") => ({
    job_id: id,
    seq,
    type,
    status,
    attempt: seq - 1,
    worker_id: seq === 1 ? null : "w1",
    error: null,
    actor: "scheduler:test",
    result: type === "completed" ? { ok: true } : null,
    details: null,
    occurred_at: at(seq * 1_000),
    recorded_at: at(seq * 1_000 + 5),
    lease_id: seq === 1 ? null : "lease-1",
    reason: null,
  });
  return {
    job: {
      id,
      type: "email.send",
      queue: "mail",
      payload: { to: "a@example.com", n: 2 },
      status: "completed",
      result: { ok: true },
      error: null,
      error_seq: null,
      attempts: 1,
      max_attempts: 3,
      priority: 0,
      timeout_ms: 30_000,
      idempotency_key: null,
      last_seq: 2,
      created_at: at(0),
      updated_at: at(2_000),
      scheduled_at: at(0),
      started_at: at(500),
      completed_at: at(2_000),
      worker_id: "w1",
      schedule_id: null,
      progress_percent: 100,
      progress_details: { sent: 1 },
      progress_at: at(1_900),
      progress_attempt: 1,
    },
    events: [event(1, "submitted", "pending"), event(2, "completed", "completed")],
  };
}

describe("writeArchive", () => {
  let tmp: Awaited<ReturnType<typeof tempArchiveDir>>;
  beforeAll(async () => {
    tmp = await tempArchiveDir();
  });
  afterAll(async () => {
    await tmp?.remove();
  });

  it("writes one proto3 JSON job per line, with its events, and nothing else in the directory", async () => {
    const jobs = [archived(Date.UTC(2026, 0, 5, 10)), archived(Date.UTC(2026, 0, 5, 11))];
    async function* stream() {
      for (const j of jobs) yield await Promise.resolve(j);
    }

    const file = await writeArchive(tmp.dir, archiveFileName("2026-01-05", "partition", new Date()), stream());

    expect(file).toMatchObject({ jobs: 2, events: 4 });
    expect(await filesIn(tmp.dir)).toEqual([file.path.slice(tmp.dir.length + 1)]);
    const lines = await readArchive(file.path);
    expect(lines.map((l) => l.id)).toEqual(jobs.map((j) => j.job.id));
    const { events, ...jobJson } = lines[0] as { events: unknown[] };
    const job = fromJson(JobSchema, jobJson as never);
    expect(job).toMatchObject({ id: jobs[0]?.job.id, queue: "mail", status: JobStatus.COMPLETED, workerId: "w1", lastEventSeq: 2 });
    expect(job.completedAt?.seconds).toBe(BigInt(Math.floor((Date.UTC(2026, 0, 5, 10) + 2_000) / 1000)));
    const trail = events.map((e) => fromJson(JobEventSchema, e as never));
    expect(trail.map((e) => [e.seq, e.type, e.leaseId])).toEqual([
      [1, JobEventType.SUBMITTED, ""],
      [2, JobEventType.COMPLETED, leaseIdOf("lease-1")],
    ]);
    expect(lines[0]?.events).toEqual(expect.arrayContaining([expect.objectContaining({ seq: 2, result: { ok: true } })]));
  });

  it("names files so they sort by the jobs' day, then by the time they were written", () => {
    const a = archiveFileName("2026-01-05", "batch", new Date("2026-02-01T10:00:00.000Z"));
    const b = archiveFileName("2026-01-05", "batch", new Date("2026-02-01T10:00:00.001Z"));
    const c = archiveFileName("2026-01-06", "batch", new Date("2026-01-01T00:00:00.000Z"));

    expect(a).toMatch(/^jobs-20260105-batch-20260201T100000000Z-[0-9a-f]{8}\.ndjson\.gz$/);
    expect([c, b, a].sort()).toEqual([a, b, c]);
    expect(archiveFileName("2026-01-05", "batch", new Date(0))).not.toBe(archiveFileName("2026-01-05", "batch", new Date(0)));
  });

  it("leaves neither the file nor its temporary when the jobs fail half-way", async () => {
    const sub = await tempArchiveDir();
    try {
      function* failing() {
        yield archived(Date.UTC(2026, 0, 5));
        throw new Error("cursor lost");
      }

      const err = await writeArchive(sub.dir, archiveFileName("2026-01-05", "partition", new Date()), failing()).catch((e: unknown) => e);

      expect(err).toBeInstanceOf(ArchiveError);
      expect((err as Error).message).toContain("cursor lost");
      expect(await filesIn(sub.dir)).toEqual([]);
    } finally {
      await sub.remove();
    }
  });

  it("fails with ArchiveError when the directory is missing or is not a directory", async () => {
    const notDir = join(tmp.dir, "plain-file");
    await writeFile(notDir, "x");

    for (const dir of [join(tmp.dir, "missing"), join(notDir, "sub")]) {
      const err = await writeArchive(dir, "x.ndjson.gz", [archived(Date.UTC(2026, 0, 5))]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ArchiveError);
    }
  });
});
