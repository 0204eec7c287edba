import type { ServiceImpl } from "@connectrpc/connect";
import type { HistoryIngestService } from "@taskflow/proto";
import {
  FIRST_UNFINISHED_CURSOR,
  listUnfinishedJobs as readJobs,
  type UnfinishedCursor,
} from "../db/queries/list-unfinished-jobs.js";
import { invalidArgument } from "../errors.js";
import { jobToProto } from "../mapping/to-proto.js";
import type { HistoryDeps } from "./deps.js";
import { isUuid, pageSize, toDate } from "./validate.js";

export const LIST_UNFINISHED_DEFAULT_PAGE_SIZE = 500;
export const LIST_UNFINISHED_MAX_PAGE_SIZE = 1_000;

/** The token's key: `<updated_at µs>/<id>` of the previous page's last job. */
const isUnfinishedCursor = (after: unknown): after is string => {
  if (typeof after !== "string") return false;
  const [us, id, ...rest] = after.split("/");
  return rest.length === 0 && us !== undefined && /^\d{1,18}$/.test(us) && id !== undefined && isUuid(id);
};

/** Scope of this list's page tokens (see PageTokens): only the list, since updated_before moves. */
const SCOPE = "unfinished-jobs";

function cursorOf(d: HistoryDeps, token: string): UnfinishedCursor {
  const after = d.pageTokens.decode(token, SCOPE, isUnfinishedCursor);
  if (after === undefined) return FIRST_UNFINISHED_CURSOR;
  const [updatedUs, id] = after.split("/") as [string, string];
  return { updatedUs, id: id.toLowerCase() };
}

/**
 * ListUnfinishedJobs: pending and processing jobs last changed before `updated_before`,
 * oldest change first, keyset-paged, each with `last_event_seq`. InvalidArgument when
 * `updated_before` is unset, the page size is outside 1..1000, or the token is not one this
 * list issued.
 */
export const listUnfinishedJobs =
  (d: HistoryDeps): ServiceImpl<typeof HistoryIngestService>["listUnfinishedJobs"] =>
  async (req) => {
    // No default: a caller that forgets the grace period would take in-flight submits for lost ones.
    if (req.updatedBefore === undefined) throw invalidArgument("updated_before: must be set");
    const updatedBefore = toDate(req.updatedBefore, "updated_before");
    const size = pageSize(req.pageSize, LIST_UNFINISHED_DEFAULT_PAGE_SIZE, LIST_UNFINISHED_MAX_PAGE_SIZE);
    const rows = await readJobs(d.db, { updatedBefore, after: cursorOf(d, req.pageToken), limit: size + 1 });
    const page = d.pageTokens.pageOf(rows, size, SCOPE, (last) => `${last.updated_us}/${last.id}`);
    return { jobs: page.items.map(jobToProto), nextPageToken: page.next };
  };
