import type { ServiceImpl } from "@connectrpc/connect";
import type { HistoryService } from "@taskflow/proto";
import { getJob as readJob } from "../db/queries/get-job.js";
import { notFound } from "../errors.js";
import { jobToProto } from "../mapping/to-proto.js";
import type { HistoryDeps } from "./deps.js";
import { requireUuid } from "./validate.js";

/** GetJob: one job by id; InvalidArgument for a malformed id, NotFound for an unknown one. */
export const getJob =
  (d: HistoryDeps): ServiceImpl<typeof HistoryService>["getJob"] =>
  async (req) => {
    const id = requireUuid(req.id, "id");
    const row = await readJob(d.db, id);
    if (row === undefined) throw notFound(`job ${id} not found`);
    return { job: jobToProto(row) };
  };
