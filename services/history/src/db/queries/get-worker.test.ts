import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DbFixture, setupDatabase } from "../../../test/fixtures.js";
import { getWorker } from "./get-worker.js";
import { listWorkers } from "./list-workers.js";
import { upsertWorkers, type WorkerInput } from "./upsert-workers.js";

const STALE_MS = 30_000;
const GONE_MS = 300_000;

const worker = (id: string, over: Partial<WorkerInput> = {}): WorkerInput => ({
  id,
  status: "healthy",
  queues: ["default", "bulk"],
  jobTypes: ["email.send"],
  concurrency: 8,
  hostname: "host-b",
  metadata: { zone: "eu-1" },
  currentJobIds: ["019c0000-0000-7000-8000-000000000001"],
  startedAt: new Date("2026-03-01T00:00:00.000Z"),
  ...over,
});

describe("getWorker", () => {
  let f: DbFixture;
  beforeAll(async () => {
    f = await setupDatabase();
    await upsertWorkers(f.pool, [worker("w-fresh"), worker("w-late"), worker("w-left", { status: "gone" })]);
    await f.pool.query("UPDATE workers SET last_seen = now() - interval '60 seconds' WHERE id = 'w-late'");
  });
  afterAll(async () => {
    await f?.close();
  });

  const get = (id: string) => getWorker(f.pool, { id, staleMs: STALE_MS, goneMs: GONE_MS });

  it("returns the row ListWorkers returns for the same worker", async () => {
    const listed = await listWorkers(f.pool, { afterId: undefined, limit: 10, staleMs: STALE_MS, goneMs: GONE_MS, health: [] });
    for (const row of listed) expect(await get(row.id)).toEqual(row);
    expect(listed).toHaveLength(3);
  });

  it("returns every field with the derived health", async () => {
    expect(await get("w-fresh")).toMatchObject({
      id: "w-fresh",
      health: "healthy",
      queues: ["default", "bulk"],
      job_types: ["email.send"],
      concurrency: 8,
      hostname: "host-b",
      metadata: { zone: "eu-1" },
      current_jobs: ["019c0000-0000-7000-8000-000000000001"],
      started_at: new Date("2026-03-01T00:00:00.000Z"),
      jobs_completed: "0",
      jobs_failed: "0",
    });
    expect((await get("w-late"))?.health).toBe("stale");
    expect((await get("w-left"))?.health).toBe("gone");
  });

  it("returns undefined for an id it has never heard of, matching ids exactly", async () => {
    expect(await get("w-nobody")).toBeUndefined();
    expect(await get("W-FRESH")).toBeUndefined();
    expect(await get("w-fresh%")).toBeUndefined();
  });
});
