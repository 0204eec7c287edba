import type { Queryable } from "../queryable.js";
import type { JobEventRow } from "../rows.js";

/** Which events ExportAuditTrail streams. */
export interface AuditTrailQuery {
  /** occurred_at from, inclusive. */
  start: Date;
  /** occurred_at until, exclusive. */
  end: Date;
  /** Only events of jobs of these types; empty means all. */
  types: readonly string[];
  /** Only events of jobs of these queues; empty means all. */
  queues: readonly string[];
}

/** One exported event, with its job's type and queue (null when the job is gone). */
export interface AuditEventRow extends JobEventRow {
  job_type: string | null;
  job_queue: string | null;
  /** occurred_at in Unix microseconds (int8 as a string): the exact keyset position. */
  occurred_us: string;
}

/**
 * The export's position: the (occurred_at, job_id, seq) of the last event sent. occurred_at
 * travels in microseconds because a Date holds milliseconds only, and a cursor rounded to the
 * millisecond would send again the events between it and the real one.
 */
interface AuditCursor {
  occurredUs: bigint;
  jobId: string;
  seq: number;
}

/** Sorts before every real job id, so the first page starts at the range start itself. */
const NIL_UUID = "00000000-0000-0000-0000-000000000000";

/**
 * Events after the cursor ($1 µs, $2, $3) and before $4, in (occurred_at, job_id, seq)
 * order, at most $7: a keyset page that idx_job_events_occurred_at serves in order (a merge
 * of each partition's index, read only as far as the page needs). The job supplies type and
 * queue, and the filters $5 (types) and $6 (queues): an event whose job is gone passes only
 * when no filter is set. `jobs` comes first in FROM so the statement locks the parents in the
 * order every statement of history does, jobs then job_events; in the other order it could close
 * a lock cycle with partition upkeep, which creates a day's partitions of both.
 */
export const EXPORT_AUDIT_TRAIL_SQL = `
SELECT e.job_id, e.seq, e.type, e.status, e.attempt, e.worker_id, e.error, e.actor, e.result,
       e.details, e.occurred_at, e.recorded_at, e.lease_id, e.reason,
       j.type AS job_type, j.queue AS job_queue,
       (extract(epoch FROM e.occurred_at) * 1000000)::bigint AS occurred_us
FROM jobs j
RIGHT JOIN job_events e ON j.id = e.job_id
WHERE (e.occurred_at, e.job_id, e.seq)
      > (timestamptz 'epoch' + $1::bigint * interval '1 microsecond', $2::uuid, $3::int)
  AND e.occurred_at < $4::timestamptz
  AND (cardinality($5::text[]) = 0 OR j.type = ANY ($5::text[]))
  AND (cardinality($6::text[]) = 0 OR j.queue = ANY ($6::text[]))
ORDER BY e.occurred_at, e.job_id, e.seq
LIMIT $7`;

/** Reads the page of at most `limit` events after `after`. */
async function readPage(db: Queryable, q: AuditTrailQuery, after: AuditCursor, limit: number): Promise<AuditEventRow[]> {
  const { rows } = await db.query<AuditEventRow>({
    name: "history_export_audit_trail",
    text: EXPORT_AUDIT_TRAIL_SQL,
    values: [after.occurredUs.toString(), after.jobId, after.seq, q.end, q.types, q.queues, limit],
  });
  return rows;
}

/** Options of {@link readAuditTrail}. */
export interface ReadAuditTrailOptions {
  /** Events per statement, at least 1. */
  batchSize: number;
  /** Stops the walk before its next statement once aborted. */
  signal?: AbortSignal;
}

/**
 * Walks every event of the range in (occurred_at, job_id, seq) order, one keyset page per
 * statement, yielding each non-empty page. Only one page is in memory at a time and no
 * connection is held between pages, so a range of any size streams at the pace of its reader.
 * Each page is its own snapshot: an event recorded during the walk behind its position (late
 * forwarding) is not sent.
 * @throws the signal's reason once it is aborted, before the next statement.
 */
export async function* readAuditTrail(
  db: Queryable,
  q: AuditTrailQuery,
  opts: ReadAuditTrailOptions,
): AsyncGenerator<AuditEventRow[], void, undefined> {
  // The first page takes the events at the start instant too: nothing sorts before (start, nil, 0).
  let after: AuditCursor = { occurredUs: BigInt(q.start.getTime()) * 1000n, jobId: NIL_UUID, seq: 0 };
  for (;;) {
    opts.signal?.throwIfAborted();
    const rows = await readPage(db, q, after, opts.batchSize);
    const last = rows.at(-1);
    if (last === undefined) return;
    yield rows;
    if (rows.length < opts.batchSize) return;
    after = { occurredUs: BigInt(last.occurred_us), jobId: last.job_id, seq: last.seq };
  }
}
