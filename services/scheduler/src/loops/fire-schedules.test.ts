import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { OverlapPolicy, type Schedule, ScheduleSchema } from "@taskflow/proto";
import { deleteKeysWithPrefix, testRedisUrl } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReplica, startStack, type Replica, type Stack } from "../../test/stack.js";

/**
 * The stack's own scheduler looks for due schedules only once a minute, so within a test it
 * fires nothing after its start: the replicas started here are the ones that fire, and closing
 * them is every scheduler being down.
 */
let s: Stack;
const replicas: Replica[] = [];
beforeAll(async () => {
  s = await startStack({ env: { SCHEDULE_POLL_INTERVAL_MS: "60000" } });
});
afterAll(async () => {
  await Promise.all(replicas.map((r) => r.close()));
  await s.close();
});

const firing = async (env: Record<string, string> = {}): Promise<Replica> => {
  const r = await startReplica(s, { SCHEDULE_POLL_INTERVAL_MS: "50", REDIS_CHECK_SCRIPT_KEYS: "true", ...env });
  replicas.push(r);
  return r;
};
const stop = async (r: Replica): Promise<void> => {
  replicas.splice(replicas.indexOf(r), 1);
  await r.close();
};

const everySecond = (id: string, over: Partial<Schedule> = {}): Schedule => ({
  ...create(ScheduleSchema, {
    id,
    spec: { case: "interval", value: durationFromMs(1_000) },
    template: { type: "t.tick", queue: `qf-${id}` },
    overlapPolicy: OverlapPolicy.ALLOW,
  }),
  ...over,
});

/** The ticks (scheduled_at, ms) of a schedule's runs, oldest first, read from history by schedule id. */
const ticksOf = async (id: string): Promise<number[]> => {
  const { jobs } = await s.history.listJobs({ scheduleId: id, pageSize: 500 });
  expect(jobs.every((j) => j.scheduleId === id)).toBe(true);
  return jobs.map((j) => timestampMs(j.scheduledAt!)).sort((a, b) => a - b);
};
const until = async (id: string, n: number): Promise<number[]> => {
  await expect.poll(async () => (await ticksOf(id)).length, { timeout: 10_000, interval: 100 }).toBeGreaterThanOrEqual(n);
  return ticksOf(id);
};
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Each tick once, one second apart, none missing. */
const expectEveryTickOnce = (ticks: readonly number[]) => {
  expect(new Set(ticks).size).toBe(ticks.length);
  ticks.slice(1).forEach((t, i) => expect(t - ticks[i]!).toBe(1_000));
};

describe("firing schedules", () => {
  it("fires each tick exactly once with three replicas sharing the stores", async () => {
    const three = await Promise.all([firing(), firing(), firing()]);
    await s.schedules.createSchedule({ schedule: everySecond("rep3") });
    const ticks = await until("rep3", 5);
    await s.schedules.deleteSchedule({ id: "rep3" });
    expectEveryTickOnce(await ticksOf("rep3"));
    expect(ticks.length).toBeGreaterThanOrEqual(5);
    await Promise.all(three.map(stop));
  });

  it("stops while paused, goes on after resume, and stops for good when deleted", async () => {
    const r = await firing();
    await s.schedules.createSchedule({ schedule: everySecond("lifecycle") });
    await until("lifecycle", 1);
    await s.schedules.pauseSchedule({ id: "lifecycle" });
    const whilePaused = (await ticksOf("lifecycle")).length;
    await pause(2_200);
    expect((await ticksOf("lifecycle")).length).toBe(whilePaused);
    await s.schedules.resumeSchedule({ id: "lifecycle" });
    await until("lifecycle", whilePaused + 2);
    await s.schedules.deleteSchedule({ id: "lifecycle" });
    const atDelete = (await ticksOf("lifecycle")).length;
    await pause(2_200);
    expect((await ticksOf("lifecycle")).length).toBe(atDelete);
    await stop(r);
  });

  it("skips ticks while the previous run is pending under SKIP", async () => {
    const r = await firing();
    await s.schedules.createSchedule({ schedule: everySecond("skipper", { overlapPolicy: OverlapPolicy.SKIP }) });
    await until("skipper", 1);
    await pause(2_500);
    expect(await ticksOf("skipper")).toHaveLength(1);
    const got = await s.schedules.getSchedule({ id: "skipper" });
    expect(timestampMs(got.schedule!.nextRunAt!)).toBeGreaterThan(Date.now() - 1_000);
    await s.schedules.deleteSchedule({ id: "skipper" });
    await stop(r);
  });

  it("after every scheduler was down, runs only the newest catch_up missed ticks, then ticks on", async () => {
    // Every tick a replica reaches after its time counts as missed: the catch-up bound alone decides.
    const env = { SCHEDULE_MISFIRE_MS: "0" };
    let r = await firing(env);
    await s.schedules.createSchedule({ schedule: everySecond("catchup", { catchUp: 2 }) });
    await until("catchup", 1);
    await stop(r);
    const lastBefore = Math.max(...(await ticksOf("catchup")));
    // Down for four ticks or more; back just after a tick, so no tick falls due while it starts.
    await pause(4_000);
    await pause(1_000 - ((Date.now() - lastBefore) % 1_000) + 150);
    const restartMs = Date.now();
    r = await firing(env);
    const ticks = await until("catchup", 4);
    const caughtUp = ticks.filter((t) => t > lastBefore && t < restartMs);
    const newestMissed = Math.floor((restartMs - lastBefore) / 1_000) * 1_000 + lastBefore;
    expect(caughtUp).toEqual([newestMissed - 1_000, newestMissed]);
    expect(newestMissed - 1_000 - lastBefore).toBeGreaterThanOrEqual(3_000);
    expectEveryTickOnce(ticks.filter((t) => t >= newestMissed - 1_000));
    await s.schedules.deleteSchedule({ id: "catchup" });
    await stop(r);
  });

  it("keeps firing after Redis lost its data: the firing state comes back from history", async () => {
    const r = await firing();
    await s.schedules.createSchedule({ schedule: everySecond("survivor") });
    await until("survivor", 1);
    await deleteKeysWithPrefix(testRedisUrl(), `${s.config.redisKeyPrefix}:`);
    const flushedAt = Date.now();
    await expect.poll(async () => (await ticksOf("survivor")).filter((t) => t > flushedAt).length, { timeout: 15_000, interval: 200 }).toBeGreaterThanOrEqual(2);
    expect(await s.redis.zscore(`${s.config.redisKeyPrefix}:{~schedules}:due`, "survivor")).not.toBeNull();
    const ticks = await ticksOf("survivor");
    expect(new Set(ticks).size).toBe(ticks.length);
    await s.schedules.deleteSchedule({ id: "survivor" });
    await stop(r);
  });
});
