import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DbFixture, setupDatabase } from "../../../test/fixtures.js";
import { listWorkers } from "./list-workers.js";
import { upsertWorkers, type WorkerInput } from "./upsert-workers.js";

const STALE_MS = 30_000;
const GONE_MS = 300_000;

function makeWorker(id: string, over: Partial<WorkerInput> = {}): WorkerInput {
  return {
    id,
    status: "healthy",
    queues: ["default"],
    jobTypes: ["echo", "sleep"],
    concurrency: 10,
    hostname: "host-a",
    metadata: { version: "1.0.0" },
    currentJobIds: [],
    startedAt: new Date("2030-01-01T00:00:00.000Z"),
    ...over,
  };
}

describe("upsertWorkers and listWorkers", () => {
  let f: DbFixture;
  beforeAll(async () => {
    f = await setupDatabase();
  });
  afterAll(async () => {
    await f?.close();
  });

  const list = (afterId?: string, limit = 100) =>
    listWorkers(f.pool, { afterId, limit, staleMs: STALE_MS, goneMs: GONE_MS });
  const setLastSeen = (id: string, agoMs: number) =>
    f.pool.query("UPDATE workers SET last_seen = now() - $2::int * interval '1 millisecond' WHERE id = $1", [id, agoMs]);

  it("stores every field and lists a fresh worker as healthy", async () => {
    const before = Date.now();
    await upsertWorkers(f.pool, [
      makeWorker("w-a", { queues: ["default", "bulk"], currentJobIds: ["j1", "j2"], metadata: { zone: "a", v: "2" } }),
    ]);
    const [row] = await list();
    expect(row).toMatchObject({
      id: "w-a",
      status: "healthy",
      health: "healthy",
      queues: ["default", "bulk"],
      job_types: ["echo", "sleep"],
      concurrency: 10,
      hostname: "host-a",
      metadata: { zone: "a", v: "2" },
      current_jobs: ["j1", "j2"],
      started_at: new Date("2030-01-01T00:00:00.000Z"),
    });
    expect(row?.last_seen.getTime()).toBeGreaterThanOrEqual(before - 1_000);
  });

  it("updates on the next upsert, keeping started_at from the first", async () => {
    await upsertWorkers(f.pool, [
      makeWorker("w-a", { concurrency: 4, currentJobIds: [], startedAt: new Date("2031-01-01T00:00:00.000Z") }),
    ]);
    const [row] = await list();
    expect(row).toMatchObject({ concurrency: 4, current_jobs: [], started_at: new Date("2030-01-01T00:00:00.000Z") });
  });

  it("keeps the last entry of a worker listed twice in one batch", async () => {
    await upsertWorkers(f.pool, [makeWorker("w-dup", { hostname: "first" }), makeWorker("w-dup", { hostname: "last" })]);
    const rows = await list();
    expect(rows.filter((r) => r.id === "w-dup").map((r) => r.hostname)).toEqual(["last"]);
  });

  it("derives healthy, stale and gone from last_seen and the stored status", async () => {
    await upsertWorkers(f.pool, [
      makeWorker("w-fresh"),
      makeWorker("w-late"),
      makeWorker("w-silent"),
      makeWorker("w-left", { status: "gone" }),
    ]);
    await setLastSeen("w-late", STALE_MS + 5_000);
    await setLastSeen("w-silent", GONE_MS + 5_000);
    const health = Object.fromEntries((await list()).map((r) => [r.id, r.health]));
    expect(health).toMatchObject({ "w-fresh": "healthy", "w-late": "stale", "w-silent": "gone", "w-left": "gone" });
  });

  it("comes back healthy when a silent worker is seen again", async () => {
    await upsertWorkers(f.pool, [makeWorker("w-silent"), makeWorker("w-left")]);
    const health = Object.fromEntries((await list()).map((r) => [r.id, r.health]));
    expect(health).toMatchObject({ "w-silent": "healthy", "w-left": "healthy" });
  });

  it("pages by id", async () => {
    const all = (await list()).map((r) => r.id);
    expect(all).toEqual([...all].sort());
    const seen: string[] = [];
    let afterId: string | undefined;
    for (;;) {
      const page = await list(afterId, 2);
      seen.push(...page.map((r) => r.id));
      if (page.length < 2) break;
      afterId = page.at(-1)?.id;
    }
    expect(seen).toEqual(all);
  });
});
