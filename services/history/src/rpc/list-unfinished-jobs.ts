import type { ServiceImpl } from "@connectrpc/connect";
import type { HistoryIngestService } from "@taskflow/proto";
import { selectParents } from "../db/queries/job-dependencies.js";
import { FIRST_JOB_ID, listUnfinishedJobs as readJobs, selectUnfinishedById } from "../db/queries/list-unfinished-jobs.js";
import type { JobRow } from "../db/rows.js";
import { invalidArgument } from "../errors.js";
import { jobToProto, withLinks } from "../mapping/to-proto.js";
import type { HistoryDeps } from "./deps.js";
import { pageSize, requireUuid, toDate } from "./validate.js";

export const LIST_UNFINISHED_DEFAULT_PAGE_SIZE = 500;
export const LIST_UNFINISHED_MAX_PAGE_SIZE = 1_000;
/** Most ids one call may name. */
export const LIST_UNFINISHED_MAX_IDS = 100;
/** Payload and parents' result bytes past which a call by ids answers no more jobs (4 MiB). */
export const LIST_UNFINISHED_MAX_BYTES = 4 * 1024 * 1024;

/**
 * ListUnfinishedJobs: pending and processing jobs created before `created_before` whose id
 * sorts after `after_id`, in id order, each with `last_event_seq`. The caller keeps the cursor
 * (the last id it saw), so any history replica answers the next page. InvalidArgument when
 * `created_before` is unset, `after_id` is neither empty nor a UUID, or the page size is outside
 * 1..1000. Every job comes with its parents (and their status) and policy. With `ids` (at most
 * 100), the unfinished jobs among them instead, with their parents' results too, as many as fit
 * in {@link LIST_UNFINISHED_MAX_BYTES} of payloads and results (at least one): the caller asks
 * again for the rest.
 */
export const listUnfinishedJobs =
  (d: HistoryDeps): ServiceImpl<typeof HistoryIngestService>["listUnfinishedJobs"] =>
  async (req) => {
    if (req.ids.length > 0) return { jobs: await readByIds(d, req.ids) };
    // No default: a caller that forgets the grace period would take in-flight submits for lost ones.
    if (req.createdBefore === undefined) throw invalidArgument("created_before: must be set");
    const createdBefore = toDate(req.createdBefore, "created_before");
    const afterId = req.afterId === "" ? FIRST_JOB_ID : requireUuid(req.afterId, "after_id");
    const limit = pageSize(req.pageSize, LIST_UNFINISHED_DEFAULT_PAGE_SIZE, LIST_UNFINISHED_MAX_PAGE_SIZE);
    const rows = await readJobs(d.db, { createdBefore, afterId, limit });
    const parents = await selectParents(d.db, rows.map((r) => r.id));
    return { jobs: rows.map((r) => withLinks(jobToProto(r), parents.get(r.id))) };
  };

async function readByIds(d: HistoryDeps, ids: readonly string[]) {
  if (ids.length > LIST_UNFINISHED_MAX_IDS) throw invalidArgument(`ids: must name at most ${LIST_UNFINISHED_MAX_IDS} jobs`);
  const wanted = ids.map((id, i) => requireUuid(id, `ids[${i}]`));
  const rows = await selectUnfinishedById(d.db, wanted);
  const parents = await selectParents(d.db, rows.map((r) => r.id), true);
  const out = [];
  let bytes = 0;
  for (const row of rows) {
    bytes += jsonBytes(row.payload) + (parents.get(row.id) ?? []).reduce((n, p) => n + jsonBytes(p.result), 0);
    if (out.length > 0 && bytes > LIST_UNFINISHED_MAX_BYTES) break;
    out.push(withLinks(jobToProto(row), parents.get(row.id)));
  }
  return out;
}

const jsonBytes = (v: JobRow["result"]): number => (v === null ? 0 : Buffer.byteLength(JSON.stringify(v), "utf8"));
