import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { JsonObject } from "@bufbuild/protobuf";
import type { Schedule } from "@taskflow/proto";
import type { Deps } from "../deps.js";
import type { ScheduleInit } from "../history-client.js";
import type { ScheduleStore } from "../redis/schedule-store.js";
import { fromStored } from "./parse-schedule.js";

/** Writes of one schedule tried before a change that keeps meeting concurrent ones fails. */
const CHANGE_ATTEMPTS = 3;

/** The schedule as history holds it, with the next tick Redis holds (it moves on with every tick, fired or skipped). */
export async function readSchedule(d: Deps, id: string, signal: AbortSignal): Promise<Schedule> {
  const [stored] = await d.history.readSchedules([id], signal);
  if (stored === undefined) throw new ConnectError(`schedule ${id} not found`, Code.NotFound);
  return (await withRedisNext(d, [stored]))[0]!;
}

/** `schedules` with next_run_at as Redis holds it, where it holds one. */
export async function withRedisNext(d: Deps, schedules: Schedule[]): Promise<Schedule[]> {
  const next = await d.schedules.nextTicks(schedules.map((s) => s.id));
  schedules.forEach((s, i) => {
    const ms = next[i];
    if (ms !== undefined && !s.paused) s.nextRunAt = timestampFromMs(ms);
  });
  return schedules;
}

/** Copies a schedule as history stored it into Redis's firing state (fenced by its version); resolves to whether Redis changed. */
export async function putStored(store: ScheduleStore, s: Schedule): Promise<boolean> {
  const nextMs = s.paused || s.nextRunAt === undefined ? 0 : timestampMs(s.nextRunAt);
  const lastRun = s.lastJobId === "" || s.lastRunAt === undefined ? undefined : { jobId: s.lastJobId, queue: s.template?.queue ?? "", runAtMs: timestampMs(s.lastRunAt) };
  return store.put({ def: fromStored(s), version: s.version, nextMs, lastRun });
}

/** One operator change of a schedule: what the trail records, and the new state (undefined: nothing to change). */
export interface ScheduleChange {
  action: string;
  details?: JsonObject;
  /** The version the change was made from; the change is refused once the schedule moved past it. 0n or undefined: any. */
  expectedVersion?: bigint;
  apply(current: Schedule): ScheduleInit | undefined;
}

/**
 * Changes a schedule: reads it (not_found first; failed_precondition when it is no longer at the
 * change's expected version), records the operator action with the verified actor, stores the
 * new state at the version read (read again and retried when a concurrent change moved it on,
 * unless the change expected that version), then copies it into Redis. With history down
 * nothing changes.
 */
export async function changeSchedule(d: Deps, id: string, actor: string, change: ScheduleChange, signal: AbortSignal): Promise<Schedule> {
  let current = atExpectedVersion(await readSchedule(d, id, signal), change.expectedVersion);
  await d.history.recordOperatorAction({ actor, action: change.action, target: scheduleTarget(id), details: change.details }, signal);
  for (let attempt = 1; ; attempt += 1) {
    const next = change.apply(current);
    if (next === undefined) return current;
    try {
      const stored = await d.history.storeSchedule({ ...next, id, updatedBy: actor }, false, current.version, signal);
      await putStored(d.schedules, stored);
      return (await withRedisNext(d, [stored]))[0]!;
    } catch (err) {
      // failed_precondition: a concurrent change moved the version on.
      if (!(err instanceof ConnectError && err.code === Code.FailedPrecondition) || attempt >= CHANGE_ATTEMPTS) throw err;
      current = atExpectedVersion(await readSchedule(d, id, signal), change.expectedVersion);
    }
  }
}

function atExpectedVersion(current: Schedule, expected: bigint | undefined): Schedule {
  if (expected === undefined || expected === 0n || current.version === expected) return current;
  throw new ConnectError(
    `schedule ${current.id} is at version ${current.version}, not ${expected}: it changed since it was read; read it again`,
    Code.FailedPrecondition,
  );
}

/** The operator trail's target for a schedule: `schedule:<id>` (a bare name is a queue). */
export const scheduleTarget = (id: string): string => `schedule:${id}`;
