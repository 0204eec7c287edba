import { listPartitions, type PartitionInfo } from "../db/queries/partitions.js";
import { dayExpired, type ExpiredScope, retentionCutoff } from "../db/queries/retention.js";
import { timed } from "../db/statements.js";
import type { ArchiveFile } from "./archive.js";
import type { RetentionOptions } from "./options.js";
import { dropExpiredDay, type ExpiredDay } from "./partition-path.js";
import { deleteExpiredRows } from "./row-path.js";

/** What one retention pass did (or, on a dry run, would do). */
export interface RetentionResult {
  /** Jobs finished before this moment were eligible; undefined when retention is off. */
  cutoff: Date | undefined;
  /** Partitions dropped whole: each day's jobs and job_events partitions. */
  droppedPartitions: string[];
  /** Jobs removed row by row, with their events. */
  jobsDeleted: number;
  /** Jobs written to archive files (both paths). */
  jobsArchived: number;
  /** Paths of the archive files written. */
  archiveFiles: string[];
}

/** Name of a day's jobs partition as taskflow_ensure_partitions makes it. */
const DAY_PARTITION = /^jobs_p(\d{4})(\d{2})(\d{2})$/;

/**
 * Runs one retention pass: finished jobs whose completed_at is older than `retentionDays`
 * leave with their events; unfinished jobs never do. Day partitions before the cutoff holding
 * only such jobs are archived and dropped whole; the rest (days that still hold a job to keep,
 * the day the cutoff falls in, and the DEFAULT partition) goes row by row in bounded batches.
 * Several replicas may run it at once. A dry run reports what would go and changes nothing.
 * With `retentionDays` 0 it does nothing.
 * @throws ArchiveError when an archive could not be written; nothing of that day or batch is
 *   removed, and the pass stops there.
 */
export async function runRetentionPass(o: RetentionOptions, opts: { dryRun: boolean }): Promise<RetentionResult> {
  const result: RetentionResult = { cutoff: undefined, droppedPartitions: [], jobsDeleted: 0, jobsArchived: 0, archiveFiles: [] };
  if (o.retentionDays === 0) return result;
  const db = timed(o.pool, o.timings);
  const { cutoff, idFloor } = await retentionCutoff(db, o.retentionDays);
  result.cutoff = cutoff;
  const { candidates, scopes } = planPass(await listPartitions(db), idFloor);
  const expired: ExpiredDay[] = [];
  for (const day of candidates) {
    if ((await dayExpired(db, day, cutoff)).expired) expired.push(day);
    else scopes.push({ kind: "range", fromId: day.fromId, toId: day.toId });
  }
  const archives: ArchiveFile[] = [];
  if (opts.dryRun) for (const day of expired) result.droppedPartitions.push(day.jobsTable, day.eventsTable);
  else await dropExpiredDays(o, expired, cutoff, { result, archives, scopes });
  scopes.sort(byRange);
  const rows = await deleteExpiredRows(o, scopes, cutoff, opts.dryRun);
  archives.push(...rows.archives);
  result.jobsDeleted = rows.jobsDeleted;
  result.jobsArchived = archives.reduce((n, a) => n + a.jobs, 0);
  result.archiveFiles = archives.map((a) => a.path);
  report(o, result, opts.dryRun);
  return result;
}

/**
 * The partition path over `expired`, oldest first: records each day dropped, hands a day that
 * turned out to hold a job to keep to the row path, and stops when another replica holds the
 * path. A day given up on its lock, or changed since its archive, waits for the next pass.
 */
async function dropExpiredDays(
  o: RetentionOptions,
  expired: readonly ExpiredDay[],
  cutoff: Date,
  into: { result: RetentionResult; archives: ArchiveFile[]; scopes: ExpiredScope[] },
): Promise<void> {
  for (const day of expired) {
    const { outcome, archive } = await dropExpiredDay(o, day, cutoff);
    if (archive !== undefined) into.archives.push(archive);
    if (outcome === "dropped") {
      into.result.droppedPartitions.push(day.jobsTable, day.eventsTable);
      o.logger.info({ partition: day.jobsTable, jobs_archived: archive?.jobs, archive_file: archive?.path }, "day partition dropped");
    } else if (outcome === "kept") into.scopes.push({ kind: "range", fromId: day.fromId, toId: day.toId });
    else if (outcome === "lock_timeout") o.logger.warn({ partition: day.jobsTable, lock_timeout_ms: o.lockTimeoutMs }, "retention gave up waiting for a lock");
    else o.logger.debug({ partition: day.jobsTable, outcome }, "day partition not dropped");
    if (outcome === "busy") return;
  }
}

/**
 * Sorts the partitions before the cutoff: day partitions wholly before it (`idFloor`) are
 * candidates for a drop; a day partition the cutoff falls in, and any other bounded partition,
 * is a row scope up to the cutoff; the DEFAULT partition is a row scope of its own.
 */
export function planPass(partitions: readonly PartitionInfo[], idFloor: string): { candidates: ExpiredDay[]; scopes: ExpiredScope[] } {
  const candidates: ExpiredDay[] = [];
  const scopes: ExpiredScope[] = [];
  for (const p of partitions) {
    if (p.parent !== "jobs") continue;
    if (p.isDefault) {
      scopes.push({ kind: "default" });
      continue;
    }
    if (p.fromId === null || p.toId === null || p.fromId >= idFloor) continue;
    const m = DAY_PARTITION.exec(p.table);
    if (m !== null && p.toId <= idFloor) {
      const digits = `${m[1]}${m[2]}${m[3]}`;
      candidates.push({
        day: `${m[1]}-${m[2]}-${m[3]}`,
        fromId: p.fromId,
        toId: p.toId,
        jobsTable: p.table,
        eventsTable: `job_events_p${digits}`,
      });
    } else {
      scopes.push({ kind: "range", fromId: p.fromId, toId: p.toId < idFloor ? p.toId : idFloor });
    }
  }
  return { candidates, scopes };
}

/** Oldest range first, DEFAULT last. */
function byRange(a: ExpiredScope, b: ExpiredScope): number {
  if (a.kind === "default" || b.kind === "default") return a.kind === b.kind ? 0 : a.kind === "default" ? 1 : -1;
  return a.fromId < b.fromId ? -1 : a.fromId > b.fromId ? 1 : 0;
}

function report(o: RetentionOptions, r: RetentionResult, dryRun: boolean): void {
  const fields = {
    cutoff: r.cutoff?.toISOString(),
    dry_run: dryRun,
    partitions_dropped: r.droppedPartitions.length / 2,
    jobs_deleted: r.jobsDeleted,
    jobs_archived: r.jobsArchived,
    archive_files: r.archiveFiles.length,
  };
  if (!dryRun && (r.droppedPartitions.length > 0 || r.jobsDeleted > 0)) o.logger.info(fields, "retention removed finished jobs");
  else o.logger.debug(fields, "retention pass done");
}
