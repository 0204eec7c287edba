import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { HistoryIngestService, HistoryService } from "@taskflow/proto";
import { createTestDatabase, rejection, type TestDatabase } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quietLogger } from "../../test/fixtures.js";
import { HISTORY_DEFAULTS } from "../config.js";
import { type RunningHistory, startHistory } from "../start-history.js";

describe("operator actions over gRPC", () => {
  let db: TestDatabase;
  let history: RunningHistory;
  let ingest: Client<typeof HistoryIngestService>;
  let reads: Client<typeof HistoryService>;

  beforeAll(async () => {
    db = await createTestDatabase();
    history = await startHistory({ ...HISTORY_DEFAULTS, port: 0, internalPort: 0, databaseUrl: db.url }, { logger: quietLogger });
    ingest = createClient(HistoryIngestService, createGrpcTransport({ baseUrl: history.internalUrl }));
    reads = createClient(HistoryService, createGrpcTransport({ baseUrl: history.url }));
  });
  afterAll(async () => {
    await history?.close();
    await db?.drop();
  });

  it("records actions in order with history's time, and lists them newest first, by target and kind, page by page", async () => {
    const before = Date.now();
    const { actions } = await ingest.recordOperatorActions({
      actions: [
        { actor: "api:ops", action: "queue.pause", target: "emails" },
        { actor: "api:ops", action: "queue.limits", target: "emails", details: { maxRunning: 5 } },
        { actor: "api:bob", action: "queue.pause", target: "reports" },
      ],
    });
    expect(actions.map((a) => [a.action, a.target])).toEqual([
      ["queue.pause", "emails"],
      ["queue.limits", "emails"],
      ["queue.pause", "reports"],
    ]);
    expect(actions[0]!.id < actions[1]!.id && actions[1]!.id < actions[2]!.id).toBe(true);
    expect(timestampMs(actions[0]!.at!)).toBeGreaterThanOrEqual(before - 5_000);
    await ingest.recordOperatorActions({ actions: [{ actor: "api:ops", action: "queue.resume", target: "emails" }] });

    const all = await reads.listOperatorActions({});
    expect(all.actions.map((a) => a.action)).toEqual(["queue.resume", "queue.pause", "queue.limits", "queue.pause"]);
    const emails = await reads.listOperatorActions({ target: "emails" });
    expect(emails.actions.map((a) => [a.action, a.actor])).toEqual([
      ["queue.resume", "api:ops"],
      ["queue.limits", "api:ops"],
      ["queue.pause", "api:ops"],
    ]);
    expect(emails.actions[1]!.details).toEqual({ maxRunning: 5 });
    const pauses = await reads.listOperatorActions({ action: "queue.pause" });
    expect(pauses.actions.map((a) => a.target)).toEqual(["reports", "emails"]);

    // Two per page: every action once, newest first; a token is bound to its filters.
    const first = await reads.listOperatorActions({ pageSize: 2 });
    const second = await reads.listOperatorActions({ pageSize: 2, pageToken: first.nextPageToken });
    expect([...first.actions, ...second.actions].map((a) => a.id)).toEqual(all.actions.map((a) => a.id));
    expect(second.nextPageToken).toBe("");
    expect((await rejection(reads.listOperatorActions({ pageSize: 2, pageToken: first.nextPageToken, target: "emails" }))).code).toBe(Code.InvalidArgument);
  });

  it("lists more than ten actions newest first by number, page by page, each once", async () => {
    const target = `many-${Date.now()}`;
    const { actions } = await ingest.recordOperatorActions({
      actions: Array.from({ length: 12 }, () => ({ actor: "api:ops", action: "queue.pause", target })),
    });
    const newestFirst = actions.map((a) => a.id).reverse();
    expect((await reads.listOperatorActions({ target })).actions.map((a) => a.id)).toEqual(newestFirst);
    const pages: bigint[] = [];
    let pageToken = "";
    do {
      const page = await reads.listOperatorActions({ target, pageSize: 5, pageToken });
      pages.push(...page.actions.map((a) => a.id));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(pages).toEqual(newestFirst);
  });

  it("lists the queue controls the trail holds: the newest pause or resume per queue, the newest limits per queue and job type", async () => {
    await ingest.recordOperatorActions({
      actions: [
        { actor: "api:a", action: "queue.pause", target: "qc1" },
        { actor: "api:a", action: "queue.limits", target: "qc1", details: { maxRunning: 1 } },
        { actor: "api:a", action: "queue.limits", target: "qc1", details: { maxRunning: 2, type: "t.x" } },
        { actor: "api:b", action: "queue.limits", target: "qc1", details: { maxRunning: 3 } },
        { actor: "api:b", action: "queue.pause", target: "qc2" },
        { actor: "api:b", action: "queue.resume", target: "qc2" },
        { actor: "api:b", action: "schedule.create", target: "qc1" },
      ],
    });
    const { actions } = await ingest.listQueueControls({});
    const mine = actions.filter((a) => a.target.startsWith("qc"));
    // Oldest first; each queue's and type's newest only; other kinds of action left out.
    expect(mine.map((a) => [a.target, a.action, a.actor, a.details])).toEqual([
      ["qc1", "queue.pause", "api:a", {}],
      ["qc1", "queue.limits", "api:a", { maxRunning: 2, type: "t.x" }],
      ["qc1", "queue.limits", "api:b", { maxRunning: 3 }],
      ["qc2", "queue.resume", "api:b", {}],
    ]);
  });

  it("refuses bad actions with invalid_argument, recording none of the batch", async () => {
    const bad = [
      [],
      [{ actor: "", action: "queue.pause", target: "q" }],
      [{ actor: "api", action: "queue.pause", target: "x".repeat(257) }],
      [{ actor: "api", action: "queue.pause", target: "q", details: { blob: "x".repeat(17 * 1024) } }],
      Array.from({ length: 101 }, () => ({ actor: "api", action: "queue.pause", target: "q" })),
    ];
    const count = async () => (await reads.listOperatorActions({ target: "q" })).actions.length;
    for (const actions of bad) {
      expect((await rejection(ingest.recordOperatorActions({ actions }))).code).toBe(Code.InvalidArgument);
    }
    expect(await count()).toBe(0);
  });
});
