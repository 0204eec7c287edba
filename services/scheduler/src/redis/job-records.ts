import type { JobStatus, LeaseStatus, ReportStatus } from "@taskflow/proto";

/** A validated job to enqueue. `runAtMs` > 0 wins over `delayMs`. */
export interface EnqueueJob {
  id: string;
  type: string;
  payloadJson: string;
  priority: number;
  maxAttempts: number;
  timeoutMs: number;
  delayMs: number;
  runAtMs: number;
  createdMs: number;
}

/** Jobs per job type, e.g. how many of each type became ready. */
export type TypeCounts = ReadonlyMap<string, number>;

/** A job just leased, as the lease script returns it. Times are ms since the Unix epoch. */
export interface LeasedRecord {
  id: string;
  type: string;
  queue: string;
  payloadJson: string;
  priority: number;
  maxAttempts: number;
  attempts: number;
  timeoutMs: number;
  scheduledMs: number;
  createdMs: number;
  token: string;
  leaseUntilMs: number;
  deadlineMs: number;
  startedMs: number;
  /** W3C traceparent of the submit that created the job; "" when it was not traced. */
  traceParent: string;
  /** A flow child's parents with their results, as JSON text (see {@link ParentRecord}); "" for none. */
  parentsJson: string;
}

/** One parent of a released child as its hash keeps it (the `parents` JSON array). */
export interface ParentRecord {
  id: string;
  type: string;
  queue: string;
  /** Stored status text: "completed", "failed" or "cancelled". */
  status: string;
  /** The parent's result (completed parents), absent otherwise. */
  result?: unknown;
}

/** What to lease from one queue. */
export interface LeaseAsk {
  /** Most jobs. */
  max: number;
  /** Job types to lease; empty: any. */
  types: readonly string[];
  /**
   * Names the request, so that sending it again answers what it leased (see lease-jobs.lua);
   * "" for a request no one will retry (the script still guards against being run twice).
   */
  requestId: string;
  /** Byte budget of the payloads; the first job is leased whatever its size. */
  maxBytes: number;
  /** Actor of the STARTED events: `worker:<name>` of the caller. */
  actor: string;
  /**
   * Told when the queue's limits held jobs back: in how many ms the start rate allows another
   * start, or -1 while the queue runs as many jobs as it may.
   */
  onHeld?: (heldMs: number) => void;
}

/** One lease a worker names: the job and its fencing token. */
export interface LeaseRef {
  id: string;
  token: string;
}

export interface ExtendResult {
  status: LeaseStatus;
  /** New lease deadline, ms since the Unix epoch; 0 when the lease is lost. */
  leaseUntilMs: number;
  /** The held attempt's number; 0 when the lease is lost. */
  attempt: number;
  /** Redis's clock when the lease was checked, ms since the Unix epoch. */
  nowMs: number;
}

/** A worker's report; `body` is the result as JSON text, or the error text. */
export interface ReportInput extends LeaseRef {
  outcome: "completed" | "failed";
  body: string;
  permanent: boolean;
}

export interface ReportOutcome {
  status: ReportStatus;
  /** The job's status after the report; UNSPECIFIED when Redis no longer knows it. */
  jobStatus: JobStatus;
}

/** Who asks for a cancel and why, as the audit trail records it. */
export interface CancelRequest {
  /** The caller's free-text reason, kept in the event's details; "" for none. */
  reason: string;
  /** "api" or "api:<caller>". */
  actor: string;
}

/** The `{ type1, n1, type2, n2, ... }` array a script answers, as a map. */
export function typeCountsOf(flat: unknown): TypeCounts {
  const counts = new Map<string, number>();
  if (!Array.isArray(flat)) return counts;
  for (let i = 0; i + 1 < flat.length; i += 2) counts.set(String(flat[i]), Number(flat[i + 1]));
  return counts;
}

/** Adds `more` into `into`. */
export function addTypeCounts(into: Map<string, number>, more: TypeCounts): void {
  for (const [type, n] of more) into.set(type, (into.get(type) ?? 0) + n);
}

export function toLeasedRecord(queue: string, row: unknown[]): LeasedRecord {
  const [id, type, payload, priority, maxAttempts, attempts, timeoutMs, scheduledMs, createdMs, token, leaseUntil, deadline, started, traceParent, parents] = row;
  return {
    id: String(id),
    type: String(type),
    queue,
    payloadJson: String(payload),
    priority: Number(priority),
    maxAttempts: Number(maxAttempts),
    attempts: Number(attempts),
    timeoutMs: Number(timeoutMs),
    scheduledMs: Number(scheduledMs),
    createdMs: Number(createdMs),
    token: String(token),
    leaseUntilMs: Number(leaseUntil),
    deadlineMs: Number(deadline),
    startedMs: Number(started),
    traceParent: typeof traceParent === "string" ? traceParent : "",
    parentsJson: typeof parents === "string" ? parents : "",
  };
}
