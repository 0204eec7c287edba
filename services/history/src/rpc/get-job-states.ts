import type { ServiceImpl } from "@connectrpc/connect";
import type { HistoryIngestService } from "@taskflow/proto";
import { getJobStates as readStates } from "../db/queries/get-job-states.js";
import { invalidArgument } from "../errors.js";
import { jobStatusEnum } from "../mapping/enums.js";
import type { HistoryDeps } from "./deps.js";
import { requireUuid } from "./validate.js";

/** Most ids one GetJobStates call may name. */
export const MAX_JOB_STATE_IDS = 1_000;

/**
 * GetJobStates: the status and newest event seq of each known job among `ids`, in one
 * statement; unknown ids are left out. InvalidArgument for more than 1000 ids or one that is
 * not a UUID (naming it, e.g. `ids[3]`).
 */
export const getJobStates =
  (d: HistoryDeps): ServiceImpl<typeof HistoryIngestService>["getJobStates"] =>
  async (req) => {
    if (req.ids.length > MAX_JOB_STATE_IDS) {
      throw invalidArgument(`ids: must be at most ${MAX_JOB_STATE_IDS}, got ${req.ids.length}`);
    }
    const ids = req.ids.map((id, i) => requireUuid(id, `ids[${i}]`));
    const rows = await readStates(d.db, ids);
    return { states: rows.map((r) => ({ id: r.id, status: jobStatusEnum(r.status), lastEventSeq: r.last_seq })) };
  };
