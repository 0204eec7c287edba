import { Code, ConnectError } from "@connectrpc/connect";
import { JobEventType as E, JobStatus as S } from "@taskflow/proto";
import { eventually, uniqueQueue } from "@taskflow/testkit";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobKeys, startStack, type Stack } from "../test/stack.js";
import { CALLER_HEADER } from "./caller.js";
import { queueKeys } from "./redis/keys.js";

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s.close();
});

const as = (caller: string) => ({ headers: { [CALLER_HEADER]: caller } });

/** The job's trail once history holds `count` events. */
const trailOf = (id: string, count: number) =>
  eventually(async () => {
    const { events } = await s.history.listJobEvents({ jobId: id });
    return events.length >= count ? events : undefined;
  });

/** Jobs history holds in `queue`, read from its database. */
async function jobsInHistory(queue: string): Promise<number> {
  const client = new pg.Client({ connectionString: s.databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM jobs WHERE queue = $1", [queue]);
    return rows[0]!.n;
  } finally {
    await client.end();
  }
}

const refusal = async (call: Promise<unknown>): Promise<ConnectError> => {
  const err = await call.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  if (err === undefined) throw new Error("the call succeeded");
  return err;
};

describe(`the ${CALLER_HEADER} header`, () => {
  it("makes the caller the actor of SUBMITTED, for SubmitJob and SubmitJobs; without it the actor is api", async () => {
    const q = uniqueQueue();
    const { job: one } = await s.scheduler.submitJob({ type: "t.x", queue: q }, as("billing-service"));
    const { jobs } = await s.scheduler.submitJobs({ jobs: [{ type: "t.x", queue: q }, { type: "t.y", queue: q }] }, as("batch/v2"));
    const { job: anonymous } = await s.scheduler.submitJob({ type: "t.x", queue: q });

    const submitted = async (id: string) => (await trailOf(id, 1))[0]!;
    expect(await submitted(one!.id)).toMatchObject({ type: E.SUBMITTED, actor: "api:billing-service", reason: "submitted", leaseId: "" });
    for (const j of jobs) expect((await submitted(j.id)).actor).toBe("api:batch/v2");
    expect((await submitted(anonymous!.id)).actor).toBe("api");
  });

  it("accepts 128 characters of the whole allowed alphabet", async () => {
    const caller = "Az09._:@/-".repeat(12) + "abcdefgh";
    expect(caller).toHaveLength(128);
    const { job } = await s.scheduler.submitJob({ type: "t.x", queue: uniqueQueue() }, as(caller));
    expect((await trailOf(job!.id, 1))[0]!.actor).toBe(`api:${caller}`);
  });

  it("makes the caller the actor of CANCELLED for a pending job, without a lease", async () => {
    const { job } = await s.scheduler.submitJob({ type: "t.x", queue: uniqueQueue() });
    const res = await s.scheduler.cancelJob({ id: job!.id, reason: "not needed" }, as("ops@example.com"));
    expect(res.status).toBe(S.CANCELLED);
    const cancelled = (await trailOf(job!.id, 2))[1]!;
    expect(cancelled).toMatchObject({
      type: E.CANCELLED, actor: "api:ops@example.com", attempt: 0, leaseId: "", reason: "cancel_requested",
    });
    expect(cancelled.details).toEqual({ reason: "not needed" });
  });

  it("makes the caller the actor of CANCELLED recorded in history for a job Redis lost", async () => {
    const q = uniqueQueue();
    const { job } = await s.scheduler.submitJob({ type: "t.x", queue: q });
    const k = queueKeys(s.config.redisKeyPrefix, q);
    await s.redis.multi().del(k.jobPrefix + job!.id).zrem(k.ready("t.x"), job!.id).exec();

    expect((await s.scheduler.cancelJob({ id: job!.id }, as("ops"))).status).toBe(S.CANCELLED);
    const events = await trailOf(job!.id, 2);
    expect(events.map((e) => [e.seq, e.type, e.actor, e.leaseId, e.reason])).toEqual([
      [1, E.SUBMITTED, "api", "", "submitted"],
      [2, E.CANCELLED, "api:ops", "", "cancel_requested"],
    ]);
  });

  it.each([
    ["empty", ""],
    ["with a space", "bad caller"],
    ["with a comma (a repeated header)", "a,b"],
    ["longer than 128 characters", "x".repeat(129)],
  ])("refuses a header %s with invalid_argument naming it, and changes nothing", async (_, caller) => {
    const q = uniqueQueue();
    const before = await jobKeys(s);
    for (const call of [
      s.scheduler.submitJob({ type: "t.x", queue: q }, as(caller)),
      s.scheduler.submitJobs({ jobs: [{ type: "t.x", queue: q }] }, as(caller)),
    ]) {
      const err = await refusal(call);
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toContain(CALLER_HEADER);
    }
    expect(await jobKeys(s)).toEqual(before);
    expect(await jobsInHistory(q)).toBe(0);

    const { job } = await s.scheduler.submitJob({ type: "t.x", queue: q });
    const err = await refusal(s.scheduler.cancelJob({ id: job!.id }, as(caller)));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain(CALLER_HEADER);
    expect(await s.redis.zscore(queueKeys(s.config.redisKeyPrefix, q).ready("t.x"), job!.id)).not.toBeNull();
    expect((await s.history.getJob({ id: job!.id })).job!.status).toBe(S.PENDING);
    expect((await s.history.listJobEvents({ jobId: job!.id })).events.map((e) => e.type)).toEqual([E.SUBMITTED]);
  });
});
