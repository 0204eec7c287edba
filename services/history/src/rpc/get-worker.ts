import type { ServiceImpl } from "@connectrpc/connect";
import type { HistoryService } from "@taskflow/proto";
import { getWorker as readWorker } from "../db/queries/get-worker.js";
import { notFound } from "../errors.js";
import { workerToProto } from "../mapping/to-proto.js";
import type { HistoryDeps } from "./deps.js";
import { nonEmpty } from "./validate.js";

/**
 * GetWorker: one worker by id, with its health derived as ListWorkers derives it, read from the
 * replica. InvalidArgument for an empty id, NotFound for an id history has never heard of.
 */
export const getWorker =
  (d: HistoryDeps): ServiceImpl<typeof HistoryService>["getWorker"] =>
  async (req) => {
    const id = nonEmpty(req.id, "id");
    const row = await readWorker(d.readDb, { id, staleMs: d.config.workerStaleMs, goneMs: d.config.workerGoneMs });
    if (row === undefined) throw notFound(`worker ${JSON.stringify(id.slice(0, 200))} not found`);
    return { worker: workerToProto(row) };
  };
