import type { Queryable } from "../queryable.js";
import type { WorkerRow } from "../rows.js";
import { workerColumns } from "./list-workers.js";

/** One worker by id with its health derived as ListWorkers derives it (`$2` stale, `$3` gone ms). */
export const GET_WORKER_SQL = `SELECT ${workerColumns("$2", "$3")} FROM workers w WHERE w.id = $1`;

export interface GetWorkerQuery {
  id: string;
  /** Silence after which a worker is stale, in milliseconds. */
  staleMs: number;
  /** Silence after which a worker is gone, in milliseconds. */
  goneMs: number;
}

/** The worker `q.id`, or undefined when history has never heard of it. */
export async function getWorker(db: Queryable, q: GetWorkerQuery): Promise<WorkerRow | undefined> {
  const { rows } = await db.query<WorkerRow>({
    name: "history_get_worker",
    text: GET_WORKER_SQL,
    values: [q.id, q.staleMs, q.goneMs],
  });
  return rows[0];
}
