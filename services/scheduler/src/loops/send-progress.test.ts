import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { RunningHistory } from "@taskflow/history";
import { HistoryService } from "@taskflow/proto";
import pino from "pino";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deadUrl, startTestHistory } from "../../test/stack.js";
import { createHistoryClient, type HistoryClient } from "../history-client.js";
import { PROGRESS_BATCH_MAX_BYTES, SendProgress, type ProgressNote } from "./send-progress.js";

const logger = pino({ level: process.env.TEST_LOG ? "warn" : "silent" });
let hist: RunningHistory;
let history: HistoryClient;
let reads: ReturnType<typeof createClient<typeof HistoryService>>;

beforeAll(async () => {
  hist = await startTestHistory();
  history = createHistoryClient(hist.internalUrl);
  reads = createClient(HistoryService, createGrpcTransport({ baseUrl: hist.url }));
});
afterAll(async () => {
  await hist.close();
});

const note = (jobId: string, percent: number, attempt: number, atMs: number, details = {}): ProgressNote => ({
  jobId, percent, details, detailsBytes: JSON.stringify(details).length, attempt, atMs,
});

async function insertJob(): Promise<string> {
  const id = uuidv7();
  await history.insertJobs([{ id, type: "t.progress", queue: "progress", payload: {}, maxAttempts: 3 }], "api");
  return id;
}

describe("SendProgress", () => {
  it("keeps each job's newest value by attempt and time, and history keeps the newest it was sent", async () => {
    const [a, b] = [await insertJob(), await insertJob()];
    const send = new SendProgress({ history, intervalMs: 50, logger });
    send.note(note(a, 10, 1, 2_000));
    send.note(note(a, 5, 1, 1_000)); // older: ignored
    send.note(note(b, 70, 2, 1_000));
    expect(await send.runOnce()).toBe(2);
    // A value older than history's (an earlier attempt, as another replica may send late) changes nothing.
    send.note(note(b, 90, 1, 9_000));
    send.note(note(a, 20, 1, 3_000, { step: "two" }));
    expect(await send.runOnce()).toBe(2);
    const [ja, jb] = await Promise.all([reads.getJob({ id: a }), reads.getJob({ id: b })]);
    expect(ja.job?.progress).toMatchObject({ percent: 20, attempt: 1, details: { step: "two" } });
    expect(jb.job?.progress).toMatchObject({ percent: 70, attempt: 2 });
  });

  it("sends in batches bounded by bytes", async () => {
    const sizes: number[] = [];
    const counting: Pick<HistoryClient, "recordProgress"> = {
      recordProgress: (updates, signal) => {
        sizes.push(updates.length);
        return history.recordProgress(updates, signal);
      },
    };
    const send = new SendProgress({ history: counting, intervalMs: 50, logger });
    const details = { note: "x".repeat(2_040) };
    for (let i = 0; i < 1_500; i++) send.note(note(uuidv7(), 1, 1, 1_000, details));
    expect(await send.runOnce()).toBe(1_500);
    const perBatch = Math.floor(PROGRESS_BATCH_MAX_BYTES / JSON.stringify(details).length);
    expect(sizes).toEqual([perBatch, perBatch, 1_500 - 2 * perBatch]);
  });

  it("keeps what a failed send held, behind newer values, for the next run", async () => {
    const id = await insertJob();
    const down = createHistoryClient(await deadUrl(), {}, 1_000);
    let target: Pick<HistoryClient, "recordProgress"> = down;
    const send = new SendProgress({ history: { recordProgress: (u, s) => target.recordProgress(u, s) }, intervalMs: 50, logger });
    send.note(note(id, 30, 1, 1_000));
    await expect(send.runOnce()).rejects.toThrow();
    target = history;
    expect(await send.runOnce()).toBe(1);
    expect((await reads.getJob({ id })).job?.progress?.percent).toBe(30);
  });
});
