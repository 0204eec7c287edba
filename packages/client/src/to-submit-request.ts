import type { JsonObject, MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { ParentFailurePolicy, type SubmitJobRequestSchema } from "@taskflow/proto";

/** What a caller gives to submit one job. */
export interface SubmitInput {
  /** Handler name, e.g. "email.send". */
  type: string;
  /** Handler input (default `{}`). */
  payload?: JsonObject;
  /** Queue (default "default"). */
  queue?: string;
  /** 0 to 1000; higher runs first within the queue. */
  priority?: number;
  /** Run no earlier than this time. Exclusive with `delayMs`. */
  runAt?: Date;
  /** Run no earlier than this many milliseconds from now. Exclusive with `runAt`. */
  delayMs?: number;
  /** Attempts before the job fails for good (1 to 100; the scheduler's default when unset). */
  maxAttempts?: number;
  /** Execution timeout of one attempt, in milliseconds (the scheduler's default when unset). */
  timeoutMs?: number;
  /** A second submit with the same key returns the first job. */
  idempotencyKey?: string;
  /**
   * Jobs this one waits for (a flow): ids of stored jobs, or `ref`s of jobs of the same
   * `submitMany` call (at most 32). It runs once every parent is terminal.
   */
  dependsOn?: string[];
  /** What it does when a parent fails or is cancelled (default "fail"). */
  onParentFailure?: ParentFailure;
  /** Its name for `dependsOn` of other jobs of the same `submitMany` call (not stored). */
  ref?: string;
}

/** A child's policy when a parent fails or is cancelled: fail too, be cancelled, or run anyway. */
export type ParentFailure = "fail" | "cancel" | "run";

const POLICIES: Record<ParentFailure, ParentFailurePolicy> = {
  fail: ParentFailurePolicy.FAIL,
  cancel: ParentFailurePolicy.CANCEL,
  run: ParentFailurePolicy.RUN,
};

type SubmitJobRequestInit = MessageInitShape<typeof SubmitJobRequestSchema>;

/**
 * Maps a {@link SubmitInput} to a SubmitJobRequest.
 * @throws ConnectError `invalid_argument` when both `runAt` and `delayMs` are given.
 */
export function toSubmitRequest(input: SubmitInput): SubmitJobRequestInit {
  if (input.runAt !== undefined && input.delayMs !== undefined) {
    throw new ConnectError("runAt and delayMs are exclusive", Code.InvalidArgument);
  }
  return {
    type: input.type,
    payload: input.payload ?? {},
    queue: input.queue ?? "",
    priority: input.priority ?? 0,
    schedule: toSchedule(input),
    maxAttempts: input.maxAttempts,
    timeout: input.timeoutMs === undefined ? undefined : durationFromMs(input.timeoutMs),
    idempotencyKey: input.idempotencyKey ?? "",
    dependsOn: input.dependsOn ?? [],
    onParentFailure: input.onParentFailure === undefined ? ParentFailurePolicy.UNSPECIFIED : POLICIES[input.onParentFailure],
    ref: input.ref ?? "",
  };
}

function toSchedule(input: SubmitInput): SubmitJobRequestInit["schedule"] {
  if (input.runAt !== undefined) return { case: "runAt", value: timestampFromDate(input.runAt) };
  if (input.delayMs !== undefined) return { case: "delay", value: durationFromMs(input.delayMs) };
  return { case: undefined };
}
