import type { ServiceImpl } from "@connectrpc/connect";
import type { HistoryIngestService } from "@taskflow/proto";
import { notifyJobEvents } from "../db/job-notifications.js";
import { appendEvents as storeEvents } from "../db/queries/append-events.js";
import { selectSettledChildren } from "../db/queries/job-dependencies.js";
import { observeIngest } from "../metrics.js";
import type { HistoryDeps } from "./deps.js";
import { parseNewEvent } from "./parse-ingest.js";

/** Statuses that end a job, and may let its children go. */
const ENDS = new Set(["completed", "failed", "cancelled"]);

/**
 * AppendEvents: records each event once and moves each job to its newest event, in one
 * statement, then tells watchers (see WatchJob); idempotent. Events of unknown jobs are skipped and their ids answered; events whose
 * (job_id, seq) history holds for another transition are not recorded and answered as
 * clashing_events. InvalidArgument, changing nothing, when any event is malformed. Answers too
 * the pending children of the jobs the batch ends whose every parent is terminal now
 * (`settled_child_ids`), read after the commit, so a child stored meanwhile is seen (see
 * InsertJobs' parent locks); a retried batch answers them again.
 */
export const appendEvents =
  (d: HistoryDeps): ServiceImpl<typeof HistoryIngestService>["appendEvents"] =>
  async (req) => {
    const events = req.events.map(parseNewEvent);
    const res = await observeIngest(d.metrics, "AppendEvents", events.length, () => storeEvents(d.db, events));
    // WatchJob streams of these jobs, on every replica, read what was just committed.
    if (res.appended > 0) await notifyJobEvents(d.db, events.map((e) => e.jobId));
    if (res.unknownJobIds.length > 0) {
      d.logger.warn({ job_ids: res.unknownJobIds }, "events of unknown jobs skipped");
    }
    if (res.clashingEvents.length > 0) {
      const jobIds = [...new Set(res.clashingEvents.map((e) => e.jobId))];
      d.logger.warn({ events: res.clashingEvents.length, job_ids: jobIds }, "clashing events refused");
    }
    const ended = [...new Set(events.filter((e) => ENDS.has(e.status)).map((e) => e.jobId))];
    const settledChildIds = await selectSettledChildren(d.db, ended);
    return { appended: res.appended, unknownJobIds: res.unknownJobIds, clashingEvents: res.clashingEvents, settledChildIds };
  };
