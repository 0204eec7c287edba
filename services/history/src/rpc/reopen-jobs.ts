import type { ServiceImpl } from "@connectrpc/connect";
import type { HistoryIngestService } from "@taskflow/proto";
import { notifyJobEvents } from "../db/job-notifications.js";
import { reopenJobs as storeReopen } from "../db/queries/reopen-jobs.js";
import { invalidArgument } from "../errors.js";
import { jobStatusEnum } from "../mapping/enums.js";
import { jobToProto } from "../mapping/to-proto.js";
import type { HistoryDeps } from "./deps.js";
import { parseAction } from "./operator-actions.js";
import { requireUuid } from "./validate.js";

/** Most jobs one ReopenJobs call may name (SchedulerService.RetryJobs' limit). */
export const MAX_REOPEN_IDS = 1_000;

/**
 * ReopenJobs: puts the failed or cancelled jobs among `ids` back to pending for a retry, each
 * with a RETRIED event, and records the operator's action with the count, in one statement;
 * then wakes their watchers. Jobs in any other status are answered in `refused`, unchanged.
 * InvalidArgument, changing nothing, for no ids or more than 1000, an id that is not a UUID, or
 * a bad actor or action (as RecordOperatorActions checks them).
 */
export const reopenJobs =
  (d: HistoryDeps): ServiceImpl<typeof HistoryIngestService>["reopenJobs"] =>
  async (req) => {
    if (req.ids.length === 0 || req.ids.length > MAX_REOPEN_IDS) {
      throw invalidArgument(`ids: must hold 1 to ${MAX_REOPEN_IDS} ids, got ${req.ids.length}`);
    }
    const ids = [...new Set(req.ids.map((id, i) => requireUuid(id, `ids[${i}]`)))];
    if (req.action === undefined) throw invalidArgument("action: must be set");
    const action = parseAction({ ...req.action, actor: req.actor }, 0, "action");
    const res = await storeReopen(d.db, ids, action);
    if (res.reopened.length > 0) await notifyJobEvents(d.db, res.reopened.map((r) => r.id));
    const order = new Map(ids.map((id, i) => [id, i]));
    const reopened = res.reopened.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
    return {
      jobs: reopened.map(jobToProto),
      refused: res.refused.map((r) => ({ id: r.id, status: jobStatusEnum(r.status), lastEventSeq: r.last_seq })),
    };
  };
