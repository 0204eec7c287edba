import type { ServiceImpl } from "@connectrpc/connect";
import type { HistoryService } from "@taskflow/proto";
import { getJob as readJob } from "../db/queries/get-job.js";
import { notFound } from "../errors.js";
import { selectChildren, selectParents } from "../db/queries/job-dependencies.js";
import { jobToProto, withLinks } from "../mapping/to-proto.js";
import type { HistoryDeps } from "./deps.js";
import { requireUuid } from "./validate.js";

/**
 * GetJob: one job by id, with its parents and children and where each stands; InvalidArgument
 * for a malformed id, NotFound for an unknown one.
 */
export const getJob =
  (d: HistoryDeps): ServiceImpl<typeof HistoryService>["getJob"] =>
  async (req) => {
    const id = requireUuid(req.id, "id");
    const row = await readJob(d.db, id);
    if (row === undefined) throw notFound(`job ${id} not found`);
    const [parents, children] = await Promise.all([selectParents(d.db, [id]), selectChildren(d.db, [id])]);
    return { job: withLinks(jobToProto(row), parents.get(id), children.get(id)) };
  };
