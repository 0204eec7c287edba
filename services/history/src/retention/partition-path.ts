import type pg from "pg";
import QueryStream from "pg-query-stream";
import {
  ARCHIVE_DAY_SQL,
  type ArchiveRow,
  type ArchivedJob,
  type DayRange,
  dayCounts,
  dayExpired,
  deleteDayDependencies,
  dropDayPartitions,
  lockJobTables,
  toArchivedJob,
  tryRetentionPartitionLock,
} from "../db/queries/retention.js";
import type { Queryable } from "../db/queryable.js";
import { CommitError, inTransaction, isLockConflict, setLocalLockTimeout } from "../db/transaction.js";
import { type ArchiveFile, archiveFileName, discardArchive, writeArchive } from "./archive.js";
import type { RetentionOptions } from "./options.js";

/** Rows the archive cursor fetches per round trip. */
const CURSOR_BATCH_ROWS = 500;

/** A day partition pair older than the cutoff. */
export interface ExpiredDay extends DayRange {
  /** UTC day, `YYYY-MM-DD`. */
  day: string;
  /** Name of the job_events partition, e.g. `job_events_p20261101`. */
  eventsTable: string;
}

/**
 * How one day ended: dropped; `busy` (another replica holds the partition path); `gone`
 * (dropped by another replica meanwhile); `kept` (it holds a job that must stay, so the row
 * path takes it); `lock_timeout` (gave up waiting for the parents' lock, or lost a deadlock)
 * or `changed` (a job or event arrived after the archive was written): tried again next pass.
 */
export type DayOutcome = "dropped" | "busy" | "gone" | "kept" | "lock_timeout" | "changed";

export interface DayResult {
  outcome: DayOutcome;
  /** The archive of the dropped day, when archiving. */
  archive?: ArchiveFile;
}

/**
 * Archives (when configured) and drops one expired day, in one transaction under the partition
 * path's advisory lock. The day is checked again under that lock; the archive is written before
 * anything is dropped; the parents are locked with `lock_timeout`, and the day checked a last
 * time (same jobs and events as the archive holds), so the drop removes exactly what was
 * archived. If the drop does not happen, the archive is discarded, unless COMMIT failed and the
 * drop may have happened after all.
 * @throws ArchiveError when the archive could not be written (nothing dropped).
 */
export async function dropExpiredDay(o: RetentionOptions, day: ExpiredDay, cutoff: Date): Promise<DayResult> {
  let archive: ArchiveFile | undefined;
  try {
    const outcome = await inTransaction(o.pool, o.timings, async ({ db, client }): Promise<DayOutcome> => {
      if (!(await tryRetentionPartitionLock(db))) return "busy";
      const state = await dayExpired(db, day, cutoff);
      if (!state.present) return "gone";
      if (!state.expired) return "kept";
      if (o.archiveDir !== "") archive = await archiveDay(client, o.archiveDir, day);
      await setLocalLockTimeout(db, o.lockTimeoutMs);
      await lockJobTables(db, "drop");
      if (!(await unchangedSince(db, day, cutoff, archive))) return "changed";
      await dropDayPartitions(db, day.day);
      await deleteDayDependencies(db, day);
      return "dropped";
    });
    if (outcome === "dropped") return { outcome, archive };
    if (archive !== undefined) await discardArchive(archive);
    return { outcome };
  } catch (err) {
    if (archive !== undefined && !(err instanceof CommitError)) await discardArchive(archive);
    if (isLockConflict(err)) return { outcome: "lock_timeout" };
    throw err;
  }
}

/** Streams the day's jobs with their events through a cursor into an archive file. */
async function archiveDay(client: pg.PoolClient, dir: string, day: ExpiredDay): Promise<ArchiveFile> {
  const stream = client.query(new QueryStream(ARCHIVE_DAY_SQL, [day.fromId, day.toId], { batchSize: CURSOR_BATCH_ROWS }));
  async function* jobs(): AsyncGenerator<ArchivedJob> {
    for await (const row of stream) yield toArchivedJob(row as ArchiveRow);
  }
  try {
    return await writeArchive(dir, archiveFileName(day.day, "partition", new Date()), jobs());
  } finally {
    // Closes the cursor's portal when the archive failed before reading it to the end.
    stream.destroy();
  }
}

/** Under the parents' lock: the day still holds only expired jobs, exactly those archived. */
async function unchangedSince(db: Queryable, day: ExpiredDay, cutoff: Date, archive: ArchiveFile | undefined): Promise<boolean> {
  const state = await dayExpired(db, day, cutoff);
  if (!state.present || !state.expired) return false;
  if (archive === undefined) return true;
  const counts = await dayCounts(db, day);
  return counts.jobs === archive.jobs && counts.events === archive.events;
}
