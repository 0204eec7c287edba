import type { MessageInitShape } from "@bufbuild/protobuf";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { RetryJobsRequestSchema, RetryJobsResponse } from "@taskflow/proto";
import { useEffect, useRef, useState, type ReactNode } from "react";
import { describeError, type Api } from "../api.js";
import { formatCount } from "../format.js";
import { useApi } from "../session.js";
import { retryFilterOf, type JobSearch } from "./JobSearch.js";

/** Most jobs one RetryJobs call counts or retries (the service's own ceiling). */
const RETRY_LIMIT = 1_000;
/** Most RetryJobs calls one retry makes: 100,000 jobs; past them the operator starts it again. */
const MAX_CALLS = 100;
/** Calls in a row that may retry nothing while more match (jobs whose end the scheduler is still recording), and the pause after each. */
const MAX_EMPTY_CALLS = 10;
const EMPTY_CALL_PAUSE_MS = 500;

type RetryFilterInit = MessageInitShape<typeof RetryJobsRequestSchema>;

/** What a retry did: the jobs retried over its calls, whether more matched when it stopped, and the error it stopped on. */
interface Outcome {
  retried: number;
  calls: number;
  more: boolean;
  /** It stopped because calls in a row retried nothing while more matched. */
  stalled: boolean;
  error?: unknown;
}

/**
 * Runs RetryJobs with the filter until no more jobs match, at most {@link MAX_CALLS} calls;
 * reports the jobs retried so far after each. A call may retry nothing yet answer `more` (jobs
 * whose end the scheduler has not finished recording wait for the next call): it is repeated
 * after a pause, {@link MAX_EMPTY_CALLS} times in a row at most. A failed call ends it: the
 * outcome keeps what the calls before it retried.
 */
async function retryAll(api: Api, filter: RetryFilterInit, progress: (retried: number) => void): Promise<Outcome> {
  let retried = 0;
  let calls = 0;
  let empty = 0;
  while (calls < MAX_CALLS) {
    let res: RetryJobsResponse;
    try {
      res = await api.scheduler.retryJobs({ ...filter, limit: RETRY_LIMIT });
    } catch (error) {
      return { retried, calls, more: true, stalled: false, error };
    }
    calls += 1;
    retried += res.jobs.length;
    progress(retried);
    if (!res.more) return { retried, calls, more: false, stalled: false };
    empty = res.jobs.length === 0 ? empty + 1 : 0;
    if (empty >= MAX_EMPTY_CALLS) return { retried, calls, more: true, stalled: true };
    if (empty > 0) await new Promise((resolve) => setTimeout(resolve, EMPTY_CALL_PAUSE_MS));
  }
  return { retried, calls, more: true, stalled: false };
}

const jobs = (n: number) => `${formatCount(n)} ${n === 1 ? "job" : "jobs"}`;

/**
 * "Retry matching jobs" for a search of failed and/or cancelled jobs that RetryJobs can take
 * (statuses, queues, types, finished range, text; see {@link retryFilterOf}): a dry run first
 * says how many jobs would be retried, then an explicit confirmation retries them, calling again
 * while more match. A refusal (the admin role is needed) is shown in the service's words and
 * changes nothing. A search with a filter RetryJobs lacks gets a hint naming it instead.
 */
export function RetryMatching({ search }: { search: JobSearch }): ReactNode {
  const filter = retryFilterOf(search.request);
  if (filter.ok) return <RetryControl filter={filter.request} />;
  if (!filter.retryable) return null;
  return (
    <p className="hint retry-matching" data-retry-hint>
      Retry matching jobs is not offered with the {filter.blockers.length === 1 ? "filter" : "filters"} {filter.blockers.join(" and ")}: RetryJobs selects
      failed and cancelled jobs by status, queue, type, finished time and text only.
    </p>
  );
}

function RetryControl({ filter }: { filter: RetryFilterInit }): ReactNode {
  const api = useApi();
  const client = useQueryClient();
  const [soFar, setSoFar] = useState(0);
  const startButton = useRef<HTMLButtonElement>(null);
  const confirmButton = useRef<HTMLButtonElement>(null);
  const status = useRef<HTMLParagraphElement>(null);
  const count = useMutation({ mutationFn: () => api.scheduler.retryJobs({ ...filter, dryRun: true, limit: RETRY_LIMIT }) });
  const retry = useMutation({
    mutationFn: () => {
      setSoFar(0);
      return retryAll(api, filter, setSoFar);
    },
    // The confirm button goes away: focus moves to the line that reports the retry.
    onMutate: () => status.current?.focus(),
    // The list is read again: the stream of a failed-jobs search does not follow jobs out of it.
    onSettled: () => client.invalidateQueries({ queryKey: ["jobs"] }),
  });
  const counted = count.data;
  const toRetry = counted !== undefined && counted.jobs.length > 0 && retry.isIdle;
  useEffect(() => {
    if (toRetry) confirmButton.current?.focus();
  }, [toRetry]);
  const start = () => {
    retry.reset();
    count.mutate();
  };
  const busy = count.isPending || retry.isPending;
  return (
    <div className="retry-matching" data-retry>
      <div className="toolbar">
        <button type="button" className="secondary" ref={startButton} disabled={busy} onClick={start}>
          Retry matching jobs
        </button>
        {toRetry && (
          <>
            <button type="button" ref={confirmButton} onClick={() => retry.mutate()}>
              {counted.more ? "Retry them all" : `Retry ${jobs(counted.jobs.length)}`}
            </button>
            <button
              type="button"
              className="secondary"
              onClick={() => {
                count.reset();
                startButton.current?.focus();
              }}
            >
              Cancel
            </button>
          </>
        )}
      </div>
      <p role="status" className="retry-status" ref={status} tabIndex={-1}>
        {count.isPending && "Counting the jobs to retry…"}
        {counted !== undefined && retry.isIdle && <CountText jobs={counted.jobs.length} more={counted.more} />}
        {retry.isPending && `Retrying… ${jobs(soFar)} so far.`}
        {retry.data !== undefined && retry.data.error === undefined && <OutcomeText outcome={retry.data} />}
      </p>
      {count.isError && (
        <p className="notice error" role="alert">
          {describeError(count.error)}
        </p>
      )}
      {retry.data?.error !== undefined && (
        <p className="notice error" role="alert">
          {retry.data.retried > 0 ? `Retried ${jobs(retry.data.retried)}, then stopped: ` : ""}
          {describeError(retry.data.error)}
        </p>
      )}
    </div>
  );
}

function CountText({ jobs: n, more }: { jobs: number; more: boolean }): ReactNode {
  if (n === 0) return "No job to retry: none of the jobs these filters select is failed or cancelled now.";
  if (more) return `${formatCount(RETRY_LIMIT)} or more jobs would be retried, oldest first, with fresh attempts.`;
  return `${jobs(n)} would be retried, oldest first, with fresh attempts.`;
}

function OutcomeText({ outcome: o }: { outcome: Outcome }): ReactNode {
  if (!o.more) return `Retried ${jobs(o.retried)}.`;
  if (o.stalled) return `Retried ${jobs(o.retried)}; more match but were not retried yet (their ends are still being recorded): retry again in a moment.`;
  return `Retried ${jobs(o.retried)} in ${formatCount(o.calls)} calls and stopped there; more match: retry matching jobs again to go on.`;
}
