import type { Queryable } from "../queryable.js";
import type { EventRef, NewJobEvent } from "./append-events.js";

/** The transition (type and attempt) the trail holds at each of the positions `$1`, `$2`. */
export const SELECT_HELD_TRANSITIONS_SQL = `
SELECT e.job_id::text AS job_id, e.seq, e.type, e.attempt
FROM unnest($1::uuid[], $2::int[]) AS k(job_id, seq)
JOIN job_events e ON e.job_id = k.job_id AND e.seq = k.seq`;

interface HeldRow {
  job_id: string;
  seq: number;
  type: string;
  attempt: number;
}

const refKey = (jobId: string, seq: number): string => `${jobId}/${seq}`;

/**
 * The events among `events` at the positions `unseen` that the trail holds for another transition
 * (another type or attempt). A fresh statement, so it sees rows that a concurrent AppendEvents
 * committed after the snapshot of the statement that skipped them. Sorted, each position once.
 */
export async function findClashes(db: Queryable, events: readonly NewJobEvent[], unseen: readonly EventRef[]): Promise<EventRef[]> {
  const { rows } = await db.query<HeldRow>({
    name: "history_select_held_transitions",
    text: SELECT_HELD_TRANSITIONS_SQL,
    values: [unseen.map((r) => r.jobId), unseen.map((r) => r.seq)],
  });
  const held = new Map(rows.map((r) => [refKey(r.job_id, r.seq), r]));
  const clashing = events.filter((e) => {
    const h = held.get(refKey(e.jobId, e.seq));
    return h !== undefined && (h.type !== e.type || h.attempt !== e.attempt);
  });
  return sortedRefs(clashing.map((e) => ({ jobId: e.jobId, seq: e.seq })));
}

/** `refs` sorted by job id, then seq, without repeats. */
export function sortedRefs(refs: readonly EventRef[]): EventRef[] {
  const unique = new Map(refs.map((r) => [refKey(r.jobId, r.seq), r]));
  return [...unique.values()].sort((a, b) => (a.jobId === b.jobId ? a.seq - b.seq : a.jobId < b.jobId ? -1 : 1));
}
