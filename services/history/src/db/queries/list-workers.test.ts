import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DbFixture, setupDatabase } from "../../../test/fixtures.js";
import type { WorkerHealth } from "../rows.js";
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
    listWorkers(f.pool, { afterId, limit, staleMs: STALE_MS, goneMs: GONE_MS, health: [] });
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
      jobs_completed: "0",
      jobs_failed: "0",
    });
    expect(Object.keys(row ?? {}).sort()).toEqual([
      "concurrency", "current_jobs", "health", "hostname", "id", "job_types", "jobs_completed", "jobs_failed",
      "last_seen", "metadata", "queues", "started_at", "status",
    ]);
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

describe("listWorkers filtered by health", () => {
  let f: DbFixture;
  /** Worker ids by the health their last_seen gives them, in id order. */
  const byHealth: Record<WorkerHealth, string[]> = { healthy: [], stale: [], gone: [] };

  beforeAll(async () => {
    f = await setupDatabase();
    // 15 workers, cycling through: fresh, just inside the stale threshold, just past it,
    // just inside the gone threshold, just past it (and a deregistered one every third time).
    const silences = [0, STALE_MS - 5_000, STALE_MS + 5_000, GONE_MS - 5_000, GONE_MS + 5_000];
    const workers = Array.from({ length: 15 }, (_, i) => makeWorker(`w-${String(i).padStart(2, "0")}`, {
      status: i % 3 === 2 ? "gone" : "healthy",
    }));
    await upsertWorkers(f.pool, workers);
    await f.pool.query(
      `UPDATE workers SET last_seen = now() - s.ms * interval '1 millisecond'
       FROM unnest($1::text[], $2::int[]) AS s(id, ms) WHERE workers.id = s.id`,
      [workers.map((w) => w.id), workers.map((_, i) => silences[i % 5])],
    );
    workers.forEach((w, i) => {
      const silence = silences[i % 5] as number;
      const health: WorkerHealth = w.status === "gone" || silence > GONE_MS ? "gone" : silence > STALE_MS ? "stale" : "healthy";
      byHealth[health].push(w.id);
    });
  });
  afterAll(async () => {
    await f?.close();
  });

  const walk = async (health: WorkerHealth[], limit: number): Promise<string[]> => {
    const seen: string[] = [];
    let afterId: string | undefined;
    for (;;) {
      const page = await listWorkers(f.pool, { afterId, limit, staleMs: STALE_MS, goneMs: GONE_MS, health });
      seen.push(...page.map((r) => r.id));
      if (page.length < limit) return seen;
      afterId = page.at(-1)?.id;
    }
  };

  it("derives each worker's health at the thresholds", async () => {
    const rows = await listWorkers(f.pool, { afterId: undefined, limit: 100, staleMs: STALE_MS, goneMs: GONE_MS, health: [] });
    // w-02, w-05, w-08, w-11 and w-14 deregistered; the others by their silence.
    expect(rows.map((r) => r.health).join(" ")).toBe(
      "healthy healthy gone stale gone gone healthy stale gone gone healthy gone stale stale gone",
    );
  });

  it.each<[WorkerHealth[], number]>([
    [["healthy"], 1],
    [["stale"], 2],
    [["gone"], 2],
    [["gone"], 3],
    [["healthy", "stale"], 2],
    [["stale", "gone"], 4],
    [[], 4],
  ])("walks every worker whose health is one of %j once, in id order, %i a page", async (health, limit) => {
    const expected = (health.length === 0 ? ["healthy", "stale", "gone"] : health)
      .flatMap((h) => byHealth[h as WorkerHealth])
      .sort();
    expect(expected.length).toBeGreaterThan(0);
    expect(await walk(health, limit)).toEqual(expected);
  });
});
