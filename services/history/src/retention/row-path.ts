import {
  countExpiredJobs,
  deleteExpiredJobs,
  type ExpiredScope,
  lockJobTables,
  pickExpiredJobs,
  readArchivedJobs,
} from "../db/queries/retention.js";
import { timed } from "../db/statements.js";
import { CommitError, inTransaction } from "../db/transaction.js";
import { type ArchiveFile, archiveFileName, discardArchive, writeArchive } from "./archive.js";
import { RETENTION_MAX_BATCHES_PER_PASS, type RetentionOptions } from "./options.js";

/** What the row path removed (or, on a dry run, would remove). */
export interface RowPathResult {
  jobsDeleted: number;
  archives: ArchiveFile[];
}

interface BatchResult {
  picked: number;
  deleted: number;
  archive?: ArchiveFile;
}

/**
 * Deletes jobs finished before `cutoff`, scope after scope, oldest first, in batches of
 * `batchSize`: each batch one short transaction that locks its jobs (skipping those another
 * replica holds), archives them when configured, then deletes their events and them. At most
 * `maxBatches` batches per pass, so a large backlog never makes one long pass. A dry run counts
 * what the same batches would delete and changes nothing.
 * @throws ArchiveError when a batch's archive could not be written; that batch deleted nothing.
 */
export async function deleteExpiredRows(
  o: RetentionOptions,
  scopes: readonly ExpiredScope[],
  cutoff: Date,
  dryRun: boolean,
): Promise<RowPathResult> {
  const result: RowPathResult = { jobsDeleted: 0, archives: [] };
  let budget = (o.maxBatches ?? RETENTION_MAX_BATCHES_PER_PASS) * o.batchSize;
  for (const scope of scopes) {
    if (budget <= 0) break;
    if (dryRun) {
      const n = await countExpiredJobs(timed(o.pool, o.timings), scope, cutoff, budget);
      result.jobsDeleted += n;
      budget -= n;
      continue;
    }
    for (;;) {
      const batch = await deleteBatch(o, scope, cutoff);
      result.jobsDeleted += batch.deleted;
      if (batch.archive !== undefined) result.archives.push(batch.archive);
      budget -= o.batchSize;
      if (batch.picked < o.batchSize || budget <= 0) break;
    }
  }
  return result;
}

/** One batch: lock up to `batchSize` expired jobs, archive them, delete them and their events. */
async function deleteBatch(o: RetentionOptions, scope: ExpiredScope, cutoff: Date): Promise<BatchResult> {
  let archive: ArchiveFile | undefined;
  try {
    return await inTransaction(o.pool, o.timings, async ({ db }) => {
      await lockJobTables(db, "rows");
      const ids = await pickExpiredJobs(db, scope, cutoff, o.batchSize);
      if (ids.length === 0) return { picked: 0, deleted: 0 };
      if (o.archiveDir !== "") {
        const jobs = await readArchivedJobs(db, ids);
        const day = (jobs[0]?.job.created_at ?? cutoff).toISOString().slice(0, 10);
        archive = await writeArchive(o.archiveDir, archiveFileName(day, "batch", new Date()), jobs);
      }
      const gone = await deleteExpiredJobs(db, ids, cutoff);
      return { picked: ids.length, deleted: gone.jobs, archive };
    });
  } catch (err) {
    // The batch rolled back: its archive would only duplicate the next batch's.
    if (archive !== undefined && !(err instanceof CommitError)) await discardArchive(archive);
    throw err;
  }
}
