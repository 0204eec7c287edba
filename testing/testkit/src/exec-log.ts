import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

/**
 * The fixture worker of fault tests and `pnpm chaos` (plain JS: Node 20 runs it as it is), for
 * `spawnTestStack({ workerEntry })`. It appends to the file named by `FAULT_EXEC_LOG`.
 */
export const faultWorkerEntry = fileURLToPath(new URL("../fixtures/fault-worker.mjs", import.meta.url));

/** One line of the fixture worker's execution log (see testkit/fixtures/fault-worker.mjs). */
export interface ExecRecord {
  /** "start" is one execution; "finish", "fail" (a planned failure) and "abort" say how it ended. */
  event: "start" | "finish" | "fail" | "abort";
  job_id: string;
  type: string;
  attempt: number;
  worker_id: string;
  pid: number;
  /** When it was written, ms since the epoch (the test machine's one clock). */
  at: number;
  /** Why the attempt's signal aborted ("cancel", "lost", "shutdown", "timeout"). */
  reason?: string;
}

/** Every line of the log so far, in the order written; none when the file does not exist yet. */
export async function readExecLog(path: string): Promise<ExecRecord[]> {
  const text = await readFile(path, "utf8").catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return "";
    throw err;
  });
  // A line being appended right now may be cut short: only complete lines count.
  const complete = text.slice(0, text.lastIndexOf("\n") + 1);
  return complete
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as ExecRecord);
}

/** The number of executions ("start" lines) per job id. */
export function executionsByJob(records: readonly ExecRecord[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of records) if (r.event === "start") counts.set(r.job_id, (counts.get(r.job_id) ?? 0) + 1);
  return counts;
}
