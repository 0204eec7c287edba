import type { ServiceImpl } from "@connectrpc/connect";
import type { HistoryService } from "@taskflow/proto";
import { listWorkers as readWorkers } from "../db/queries/list-workers.js";
import { workerToProto } from "../mapping/to-proto.js";
import type { HistoryDeps } from "./deps.js";
import { isStorableText } from "./text-guard.js";
import { pageSize } from "./validate.js";

export const LIST_WORKERS_DEFAULT_PAGE_SIZE = 100;
export const LIST_WORKERS_MAX_PAGE_SIZE = 500;

const isWorkerCursor = (after: unknown): after is string =>
  typeof after === "string" && after !== "" && isStorableText(after);

/**
 * ListWorkers: workers by id with health derived from their last heartbeat (WORKER_STALE_MS,
 * WORKER_GONE_MS). InvalidArgument for a page size outside 1..500 or a foreign token.
 */
export const listWorkers =
  (d: HistoryDeps): ServiceImpl<typeof HistoryService>["listWorkers"] =>
  async (req) => {
    const size = pageSize(req.pageSize, LIST_WORKERS_DEFAULT_PAGE_SIZE, LIST_WORKERS_MAX_PAGE_SIZE);
    const scope = "workers";
    const rows = await readWorkers(d.readDb, {
      afterId: d.pageTokens.decode(req.pageToken, scope, isWorkerCursor),
      limit: size + 1,
      staleMs: d.config.workerStaleMs,
      goneMs: d.config.workerGoneMs,
    });
    const page = d.pageTokens.pageOf(rows, size, scope, (last) => last.id);
    return { workers: page.items.map(workerToProto), nextPageToken: page.next };
  };
