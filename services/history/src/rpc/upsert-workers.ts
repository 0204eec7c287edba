import type { ServiceImpl } from "@connectrpc/connect";
import type { HistoryIngestService } from "@taskflow/proto";
import { upsertWorkers as storeWorkers } from "../db/queries/upsert-workers.js";
import type { HistoryDeps } from "./deps.js";
import { parseWorker } from "./parse-ingest.js";

/**
 * UpsertWorkers: records registrations, heartbeats (last_seen is history's clock) and
 * departures (status GONE), in one statement. InvalidArgument, changing nothing, when any
 * worker is malformed.
 */
export const upsertWorkers =
  (d: HistoryDeps): ServiceImpl<typeof HistoryIngestService>["upsertWorkers"] =>
  async (req) => {
    await storeWorkers(d.db, req.workers.map(parseWorker));
    return {};
  };
