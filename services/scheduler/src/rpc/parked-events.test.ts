import { Code } from "@connectrpc/connect";
import { JobEventType, JobStatus } from "@taskflow/proto";
import { eventually, uniqueQueue } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../../test/stack.js";
import { queueKeys } from "../redis/keys.js";
import { OutboxReader } from "../redis/outbox.js";

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s.close();
});

/** A STARTED outbox entry of `jobId` whose type history does not know yet (as a newer scheduler could write). */
const futureEntry = (jobId: string, seq: number) => ({
  job: jobId, seq: String(seq), type: "STARTED", status: "processing", attempt: "1", actor: "worker:w1",
  worker: "w1", reason: "leased", at: String(Date.now()),
});

describe("parked outbox entries", () => {
  it("keeps every parked entry, past ten thousand", async () => {
    const q = uniqueQueue();
    const reader = new OutboxReader(s.redis, s.config.redisKeyPrefix, "parker");
    const k = queueKeys(s.config.redisKeyPrefix, q);
    // Parking goes through the acknowledgement of the entries parked.
    for (let round = 0; round < 11; round += 1) {
      const tx = s.redis.multi();
      for (let i = 0; i < 1_000; i += 1) tx.xadd(k.outbox, "*", "job", `j${round}-${i}`, "garbage", "1");
      const ids = ((await tx.exec()) ?? []).map(([, id]) => String(id));
      await reader.ack(q, { ids, parked: ids.map((id) => ({ entry: { id, fields: { job: id } }, error: "did not parse" })) });
    }
    expect(await s.redis.xlen(k.outboxDead)).toBe(11_000);
  });

  it("lists parked entries a page at a time and replays them once history can apply them", async () => {
    const q = uniqueQueue();
    const { jobs } = await s.scheduler.submitJobs({ jobs: [{ type: "t.x", queue: q }, { type: "t.x", queue: q }] });
    const [a, b] = jobs.map((j) => j.id) as [string, string];
    const k = queueKeys(s.config.redisKeyPrefix, q);
    // History refuses a transition it does not know; then a good one parked as if history had refused it for a while.
    await s.redis.xadd(k.outbox, "*", ...Object.entries({ ...futureEntry(a, 2), type: "EXPLODED" }).flat());
    await eventually(async () => ((await s.redis.xlen(k.outboxDead)) === 1 ? true : undefined));
    const reader = new OutboxReader(s.redis, s.config.redisKeyPrefix, "parker");
    await reader.ack(q, { ids: ["0-1"], parked: [{ entry: { id: "0-1", fields: futureEntry(b, 2) }, error: "history was down" }] });

    const first = await s.admin.listParkedEvents({ queue: q, pageSize: 1 });
    expect(first.events.map((e) => [e.jobId, e.seq, e.eventType])).toEqual([[a, 2, "EXPLODED"]]);
    expect(first.events[0]!.error).toContain("type");
    expect(first.events[0]!.fields).toMatchObject({ job: a, actor: "worker:w1" });
    const second = await s.admin.listParkedEvents({ queue: q, pageSize: 1, pageToken: first.nextPageToken });
    expect(second.events.map((e) => [e.jobId, e.error])).toEqual([[b, "history was down"]]);
    expect(second.nextPageToken).toBe("");
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toContain(`taskflow_outbox_parked{queue="${q}"} 2`);

    const replay = await s.admin.replayParkedEvents({ queue: q, entryIds: [second.events[0]!.entryId, first.events[0]!.entryId, "1-1"] });
    expect(replay.replayed).toBe(1);
    expect(replay.stillParked.map((e) => [e.jobId, e.eventType])).toEqual([[a, "EXPLODED"]]);
    expect(replay.notFound).toEqual(["1-1"]);
    const { events } = await s.history.listJobEvents({ jobId: b });
    expect(events.map((e) => [e.seq, e.type])).toEqual([[1, JobEventType.SUBMITTED], [2, JobEventType.STARTED]]);
    expect((await s.history.getJob({ id: b })).job!.status).toBe(JobStatus.PROCESSING);
    expect((await s.admin.listParkedEvents({ queue: q })).events.map((e) => e.jobId)).toEqual([a]);
  });

  it("refuses a bad queue, page size, token or entry id", async () => {
    await expect(s.admin.listParkedEvents({ queue: "" })).rejects.toMatchObject({ code: Code.InvalidArgument });
    await expect(s.admin.listParkedEvents({ queue: "q", pageSize: 1_001 })).rejects.toMatchObject({ code: Code.InvalidArgument });
    await expect(s.admin.listParkedEvents({ queue: "q", pageToken: "%%%" })).rejects.toMatchObject({ code: Code.InvalidArgument });
    await expect(s.admin.replayParkedEvents({ queue: "q", entryIds: ["nope"] })).rejects.toMatchObject({ code: Code.InvalidArgument });
  });
});
