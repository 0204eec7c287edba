import type { JsonObject } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { Schedule, ScheduleService } from "@taskflow/proto";
import { actorOf } from "@taskflow/service-kit";
import { v7 as uuidv7 } from "uuid";
import type { Deps } from "../deps.js";
import { invalidArgument } from "../errors.js";
import { fireRun, triggerKey } from "../schedules/fire-run.js";
import { checkScheduleId, fromStored, parseScheduleRequest, toStored, type ScheduleDef } from "../schedules/parse-schedule.js";
import { changeSchedule, putStored, readSchedule, scheduleTarget, withRedisNext } from "../schedules/schedule-records.js";
import { nextTick } from "../schedules/schedule-spec.js";
import { checkRequestId } from "../validate.js";

export const LIST_SCHEDULES_DEFAULT_PAGE_SIZE = 100;
export const LIST_SCHEDULES_MAX_PAGE_SIZE = 500;

/**
 * ScheduleService: definitions are stored in history (PostgreSQL) first, then copied into
 * Redis's firing state, fenced by their version; every change is recorded in the operators'
 * trail (target `schedule:<id>`) with the verified actor before it is made, so with history down
 * nothing changes (`unavailable`).
 */
export const scheduleService = (d: Deps): ServiceImpl<typeof ScheduleService> => ({
  async createSchedule(req, ctx) {
    const def = parseScheduleRequest(req.schedule, limitsOf(d));
    const actor = actorOf(ctx, "api");
    if ((await d.history.readSchedules([def.id], ctx.signal)).length > 0) throw alreadyExists(def.id);
    await d.history.recordOperatorAction({ actor, action: "schedule.create", target: scheduleTarget(def.id), details: detailsOf(def) }, ctx.signal);
    const paused = req.schedule?.paused ?? false;
    const init = { ...toStored(def), paused, nextRunAt: paused ? undefined : firstTick(def), updatedBy: actor };
    const stored = await d.history.storeSchedule(init, true, 0n, ctx.signal);
    await putStored(d.schedules, stored);
    d.logger.info({ schedule_id: def.id, actor }, "schedule created");
    return { schedule: stored };
  },

  async getSchedule(req, ctx) {
    return { schedule: await readSchedule(d, checkScheduleId(req.id), ctx.signal) };
  },

  async listSchedules(req, ctx) {
    const size = req.pageSize === 0 ? LIST_SCHEDULES_DEFAULT_PAGE_SIZE : req.pageSize;
    if (size < 1 || size > LIST_SCHEDULES_MAX_PAGE_SIZE) throw invalidArgument("page_size", `must be from 1 to ${LIST_SCHEDULES_MAX_PAGE_SIZE}`);
    const rows = await d.history.readSchedulesPage(decodePageToken(req.pageToken), size + 1, ctx.signal);
    const page = rows.slice(0, size);
    const nextPageToken = rows.length > size ? Buffer.from(page[page.length - 1]!.id).toString("base64url") : "";
    return { schedules: await withRedisNext(d, page), nextPageToken };
  },

  async updateSchedule(req, ctx) {
    const def = parseScheduleRequest(req.schedule, limitsOf(d));
    if (req.expectedVersion < 0n) throw invalidArgument("expected_version", "must not be negative");
    const actor = actorOf(ctx, "api");
    const schedule = await changeSchedule(d, def.id, actor, {
      action: "schedule.update",
      details: detailsOf(def),
      expectedVersion: req.expectedVersion,
      apply: (current) => ({ ...toStored(def), paused: current.paused, nextRunAt: current.paused ? undefined : firstTick(def) }),
    }, ctx.signal);
    d.logger.info({ schedule_id: def.id, actor }, "schedule updated");
    return { schedule };
  },

  async pauseSchedule(req, ctx) {
    const id = checkScheduleId(req.id);
    const actor = actorOf(ctx, "api");
    const schedule = await changeSchedule(d, id, actor, {
      action: "schedule.pause",
      apply: (current) => (current.paused ? undefined : { ...current, paused: true, nextRunAt: undefined }),
    }, ctx.signal);
    d.logger.info({ schedule_id: id, actor }, "schedule paused");
    return { schedule };
  },

  async resumeSchedule(req, ctx) {
    const id = checkScheduleId(req.id);
    const actor = actorOf(ctx, "api");
    const schedule = await changeSchedule(d, id, actor, {
      action: "schedule.resume",
      apply: (current) => (current.paused ? { ...current, paused: false, nextRunAt: firstTickOf(current) } : undefined),
    }, ctx.signal);
    d.logger.info({ schedule_id: id, actor }, "schedule resumed");
    return { schedule };
  },

  async deleteSchedule(req, ctx) {
    const id = checkScheduleId(req.id);
    const actor = actorOf(ctx, "api");
    await readSchedule(d, id, ctx.signal);
    await d.history.recordOperatorAction({ actor, action: "schedule.delete", target: scheduleTarget(id) }, ctx.signal);
    const version = await d.history.removeSchedule(id, ctx.signal);
    await d.schedules.drop(id, version);
    d.logger.info({ schedule_id: id, actor }, "schedule deleted");
    return {};
  },

  async triggerSchedule(req, ctx) {
    const id = checkScheduleId(req.id);
    checkRequestId(req.requestId);
    const actor = actorOf(ctx, "api");
    const stored = await readSchedule(d, id, ctx.signal);
    await d.history.recordOperatorAction({ actor, action: "schedule.trigger", target: scheduleTarget(id), details: { requestId: req.requestId } }, ctx.signal);
    const [state] = await d.schedules.read([id]);
    const nowMs = Date.now();
    const key = triggerKey(id, req.requestId === "" ? uuidv7() : req.requestId);
    const outcome = await fireRun(d, fromStored(stored), undefined, key, actor, state?.lastRun, ctx.signal);
    if (outcome.job !== undefined) {
      await d.schedules.noteRun(id, { jobId: outcome.job.id, queue: outcome.job.queue, runAtMs: nowMs });
      await d.history.recordScheduleRuns([{ scheduleId: id, runAt: timestampFromMs(nowMs), jobId: outcome.job.id }], ctx.signal);
    }
    d.logger.info({ schedule_id: id, actor, job_id: outcome.job?.id ?? "" }, "schedule triggered");
    return { job: outcome.job, cancelledJobId: outcome.cancelledJobId };
  },
});

const limitsOf = (d: Deps) => ({ ...d.config, maxCatchUp: d.config.scheduleMaxCatchUp });

const alreadyExists = (id: string) => new ConnectError(`schedule ${id} exists already`, Code.AlreadyExists);

/** The first tick of a definition from now (an interval's: one interval from now). */
function firstTick(def: ScheduleDef) {
  const ms = nextTick(def.spec, Date.now());
  return ms === undefined ? undefined : timestampFromMs(ms);
}

const firstTickOf = (s: Schedule) => firstTick(fromStored(s));

/** What the operators' trail keeps of a definition. */
function detailsOf(def: ScheduleDef): JsonObject {
  const spec: JsonObject = def.spec.kind === "cron" ? { cron: def.spec.cron, timeZone: def.spec.timeZone } : { intervalMs: def.spec.intervalMs };
  return { ...spec, type: def.template.type, queue: def.template.queue, overlap: def.overlap, catchUp: def.catchUp };
}

function decodePageToken(token: string): string {
  if (token === "") return "";
  const id = Buffer.from(token, "base64url").toString("utf8");
  if (!/^[A-Za-z0-9._:-]{1,128}$/.test(id)) throw invalidArgument("page_token", "is not a token this service issued");
  return id;
}
