import type { ServiceImpl } from "@connectrpc/connect";
import type { HistoryService, WorkerStatus } from "@taskflow/proto";
import { listWorkers as readWorkers } from "../db/queries/list-workers.js";
import type { WorkerHealth } from "../db/rows.js";
import { invalidArgument } from "../errors.js";
import { workerHealthText } from "../mapping/enums.js";
import { workerToProto } from "../mapping/to-proto.js";
import type { HistoryDeps } from "./deps.js";
import { isStorableText } from "./text-guard.js";
import { pageSize } from "./validate.js";

export const LIST_WORKERS_DEFAULT_PAGE_SIZE = 100;
export const LIST_WORKERS_MAX_PAGE_SIZE = 500;

const isWorkerCursor = (after: unknown): after is string =>
  typeof after === "string" && after !== "" && isStorableText(after);

/** The healths asked for, sorted and without repeats, so equal filters share a page-token scope. */
function healthFilter(statuses: readonly WorkerStatus[]): WorkerHealth[] {
  const health = statuses.map((s) => {
    const h = workerHealthText(s);
    if (h === undefined) throw invalidArgument(`statuses: must be known worker statuses, got ${s}`);
    return h;
  });
  return [...new Set(health)].sort();
}

/**
 * ListWorkers: workers by id, with health derived from their last heartbeat (WORKER_STALE_MS,
 * WORKER_GONE_MS) and optionally filtered on it, read from the replica. A page token is bound
 * to the statuses asked for. InvalidArgument for an unspecified or unknown status, a page size
 * outside 1..500 or a foreign token.
 */
export const listWorkers =
  (d: HistoryDeps): ServiceImpl<typeof HistoryService>["listWorkers"] =>
  async (req) => {
    const size = pageSize(req.pageSize, LIST_WORKERS_DEFAULT_PAGE_SIZE, LIST_WORKERS_MAX_PAGE_SIZE);
    const health = healthFilter(req.statuses);
    const scope = `workers:${JSON.stringify(health)}`;
    const rows = await readWorkers(d.readDb, {
      afterId: d.pageTokens.decode(req.pageToken, scope, isWorkerCursor),
      limit: size + 1,
      staleMs: d.config.workerStaleMs,
      goneMs: d.config.workerGoneMs,
      health,
    });
    const page = d.pageTokens.pageOf(rows, size, scope, (last) => last.id);
    return { workers: page.items.map(workerToProto), nextPageToken: page.next };
  };
