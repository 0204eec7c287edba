import type { JsonObject, MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import type { Client } from "@connectrpc/connect";
import { type Job, OverlapPolicy, type Schedule, type ScheduleSchema, type ScheduleService } from "@taskflow/proto";

/** What a caller gives to create or update a schedule: a cron expression or an interval, and a job template. */
export interface ScheduleInput {
  /** 1 to 128 characters of letters, digits and "._:-". */
  id: string;
  /** 5 fields (minutes) or 6 (seconds first), read in `timeZone`. Exclusive with `intervalMs`. */
  cron?: string;
  /** IANA time zone of `cron` (default "UTC"). */
  timeZone?: string;
  /** Fixed interval in ms, at least 1,000. Exclusive with `cron`. */
  intervalMs?: number;
  /** The job each run submits. */
  template: { type: string; queue?: string; payload?: JsonObject; priority?: number; maxAttempts?: number; timeoutMs?: number };
  /** What a tick does while the previous run is unfinished (default "skip"). */
  overlap?: "skip" | "allow" | "cancel_previous";
  /** Missed ticks run after downtime (default 1). */
  catchUp?: number;
  /** Create paused (CreateSchedule only). */
  paused?: boolean;
}

/** The schedule methods of the TaskFlow client (ScheduleService; reads need the reader role, changes admin). */
export interface ScheduleMethods {
  /** Creates a schedule. @throws ConnectError `already_exists` when the id is taken, `invalid_argument` naming a bad field. */
  createSchedule(input: ScheduleInput): Promise<Schedule>;
  /** One schedule. @throws ConnectError `not_found`. */
  schedule(id: string): Promise<Schedule>;
  /** Every schedule, by id. */
  schedules(): Promise<Schedule[]>;
  /**
   * Replaces a schedule's definition (its pause and runs are kept). With `expectedVersion` (the
   * `version` of the schedule the input was made from), a schedule changed since is left as it
   * is. @throws ConnectError `not_found`; `failed_precondition` when it changed since `expectedVersion`.
   */
  updateSchedule(input: ScheduleInput, options?: { expectedVersion?: bigint }): Promise<Schedule>;
  /** Stops a schedule firing until resumed. */
  pauseSchedule(id: string): Promise<Schedule>;
  /** Fires a paused schedule again from its next tick. */
  resumeSchedule(id: string): Promise<Schedule>;
  /** Deletes a schedule; the jobs it submitted are kept. */
  deleteSchedule(id: string): Promise<void>;
  /**
   * Submits one run now under the overlap policy; `job` is undefined when SKIP held it back. The
   * same `requestId` answers the same job.
   */
  triggerSchedule(id: string, options?: { requestId?: string }): Promise<{ job: Job | undefined; cancelledJobId: string }>;
}

const OVERLAP = { skip: OverlapPolicy.SKIP, allow: OverlapPolicy.ALLOW, cancel_previous: OverlapPolicy.CANCEL_PREVIOUS } as const;

/** A {@link ScheduleInput} as the Schedule message ScheduleService reads. */
export function toScheduleMessage(input: ScheduleInput): MessageInitShape<typeof ScheduleSchema> {
  const t = input.template;
  return {
    id: input.id,
    spec: input.cron !== undefined ? { case: "cron", value: input.cron } : input.intervalMs !== undefined ? { case: "interval", value: durationFromMs(input.intervalMs) } : { case: undefined },
    timeZone: input.timeZone ?? "",
    template: {
      type: t.type,
      queue: t.queue ?? "",
      payload: t.payload ?? {},
      priority: t.priority ?? 0,
      maxAttempts: t.maxAttempts,
      timeout: t.timeoutMs === undefined ? undefined : durationFromMs(t.timeoutMs),
    },
    overlapPolicy: OVERLAP[input.overlap ?? "skip"],
    catchUp: input.catchUp,
    paused: input.paused ?? false,
  };
}

function requireSchedule(s: Schedule | undefined): Schedule {
  if (s === undefined) throw new Error("TaskFlow answered without a schedule");
  return s;
}

export function scheduleMethods(schedules: Client<typeof ScheduleService>): ScheduleMethods {
  return {
    createSchedule: async (input) => requireSchedule((await schedules.createSchedule({ schedule: toScheduleMessage(input) })).schedule),
    schedule: async (id) => requireSchedule((await schedules.getSchedule({ id })).schedule),
    schedules: async () => {
      const all: Schedule[] = [];
      let pageToken = "";
      do {
        const page = await schedules.listSchedules({ pageToken });
        all.push(...page.schedules);
        pageToken = page.nextPageToken;
      } while (pageToken !== "");
      return all;
    },
    updateSchedule: async (input, options = {}) =>
      requireSchedule((await schedules.updateSchedule({ schedule: toScheduleMessage(input), expectedVersion: options.expectedVersion ?? 0n })).schedule),
    pauseSchedule: async (id) => requireSchedule((await schedules.pauseSchedule({ id })).schedule),
    resumeSchedule: async (id) => requireSchedule((await schedules.resumeSchedule({ id })).schedule),
    deleteSchedule: async (id) => void (await schedules.deleteSchedule({ id })),
    triggerSchedule: async (id, options = {}) => {
      const res = await schedules.triggerSchedule({ id, requestId: options.requestId ?? "" });
      return { job: res.job, cancelledJobId: res.cancelledJobId };
    },
  };
}
