import { toJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { useQuery } from "@tanstack/react-query";
import { JobStatus, ParentFailurePolicySchema, type Job, type JobEvent, type JobLink } from "@taskflow/proto";
import { useEffect, type ReactNode } from "react";
import { Link, useParams } from "react-router";
import { ActionButton } from "../components/ActionButton.js";
import { ErrorNotice } from "../components/ErrorNotice.js";
import { TimeText } from "../components/JobTable.js";
import { JobTimeline } from "../components/JobTimeline.js";
import { LiveStatus } from "../components/LiveStatus.js";
import { StatusBadge } from "../components/StatusBadge.js";
import { jobEventsKey, jobKey, useWatchJob } from "../components/useWatchJob.js";
import type { Api } from "../api.js";
import { formatDuration, label, prettyJson } from "../format.js";
import { useApi } from "../session.js";

const TERMINAL = new Set([JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED]);
/** Events per ListJobEvents call, and the calls at most: a trail past 10,000 events is cut (and says so). */
const EVENTS_PAGE = 1_000;
const EVENT_PAGES = 10;

async function readTrail(api: Api, id: string, signal: AbortSignal): Promise<JobEvent[]> {
  const all: JobEvent[] = [];
  let pageToken = "";
  for (let i = 0; i < EVENT_PAGES; i++) {
    const page = await api.history.listJobEvents({ jobId: id, pageSize: EVENTS_PAGE, pageToken }, { signal });
    all.push(...page.events);
    pageToken = page.nextPageToken;
    if (pageToken === "") break;
  }
  return all;
}

/**
 * One job (HistoryService.GetJob) with its audit trail (ListJobEvents), followed live through
 * WatchJob until it is terminal; Cancel (pending or processing) and Retry (failed or cancelled)
 * through the scheduler, whose refusal is shown as it says it.
 */
export function JobPage(): ReactNode {
  const api = useApi();
  const id = useParams()["id"] ?? "";
  const job = useQuery({
    queryKey: jobKey(id),
    queryFn: async ({ signal }) => (await api.history.getJob({ id }, { signal })).job ?? null,
  });
  const events = useQuery({ queryKey: jobEventsKey(id), queryFn: ({ signal }) => readTrail(api, id, signal) });
  const j = job.data ?? undefined;
  const live = useWatchJob(api, id, j !== undefined && !TERMINAL.has(j.status));
  // A trail read before the job's latest transitions (e.g. while a retried job ran again) is read again.
  const lastSeq = j?.lastEventSeq ?? 0;
  const shownSeq = events.data?.at(-1)?.seq;
  const { refetch: refetchEvents } = events;
  useEffect(() => {
    if (shownSeq !== undefined && lastSeq > shownSeq) void refetchEvents();
    // Only a new job state asks again (not a new trail), so a trail still short of it is not read in a loop.
  }, [lastSeq]);

  return (
    <>
      <h1>
        Job <span className="mono job-id">{id}</span>
      </h1>
      <ErrorNotice error={job.error} />
      {job.isPending && (
        <p className="loading" role="status">
          Loading the job…
        </p>
      )}
      {j !== undefined && (
        <>
          <div className="toolbar">
            <StatusBadge status={j.status} />
            {live !== undefined && <LiveStatus state={live} what="this job's changes" />}
          </div>
          {j.status !== JobStatus.COMPLETED && (
            <div className="toolbar job-actions">
              {(j.status === JobStatus.PENDING || j.status === JobStatus.PROCESSING) && (
                <ActionButton
                  label="Cancel job"
                  danger
                  confirm={`Cancel job ${j.id}?`}
                  done="Cancel requested."
                  run={() => api.scheduler.cancelJob({ id: j.id, reason: "cancelled from the dashboard" })}
                />
              )}
              {(j.status === JobStatus.FAILED || j.status === JobStatus.CANCELLED) && (
                <ActionButton label="Retry job" confirm={`Retry job ${j.id} with fresh attempts?`} done="Retried." run={() => api.scheduler.retryJob({ id: j.id })} />
              )}
            </div>
          )}
          <JobFacts job={j} />
          {j.progress !== undefined && <Progress job={j} />}
          {(j.parents.length > 0 || j.children.length > 0) && <Flow job={j} />}
          <section aria-labelledby="data-heading">
            <h2 id="data-heading">Payload, result and error</h2>
            <h3 id="payload-heading">Payload</h3>
            <pre data-block="payload" tabIndex={0}>
              {prettyJson(j.payload ?? {})}
            </pre>
            <h3 id="result-heading">Result</h3>
            <pre data-block="result" tabIndex={0}>
              {j.result === undefined ? "none" : prettyJson(toJson(ValueSchema, j.result))}
            </pre>
            <h3 id="error-heading">Error</h3>
            <pre data-block="error" tabIndex={0}>
              {j.error === "" ? "none" : j.error}
            </pre>
          </section>
        </>
      )}
      <section aria-labelledby="trail-heading">
        <h2 id="trail-heading">Audit trail</h2>
        <ErrorNotice error={events.error} />
        {events.data !== undefined && <JobTimeline events={events.data} />}
        {events.data !== undefined && events.data.length >= EVENTS_PAGE * EVENT_PAGES && (
          <p className="hint">The first {EVENTS_PAGE * EVENT_PAGES} events are shown; export the audit trail for the rest.</p>
        )}
      </section>
    </>
  );
}

function Fact({ term, children, cell }: { term: string; children: ReactNode; cell: string }): ReactNode {
  return (
    <div>
      <dt>{term}</dt>
      <dd data-fact={cell}>{children}</dd>
    </div>
  );
}

function JobFacts({ job: j }: { job: Job }): ReactNode {
  return (
    <dl className="facts">
      <Fact term="Type" cell="type">
        {j.type}
      </Fact>
      <Fact term="Queue" cell="queue">
        <Link to={`/jobs?${new URLSearchParams({ queue: j.queue }).toString()}`}>{j.queue}</Link>
      </Fact>
      <Fact term="Attempts" cell="attempts">
        {j.attempts} / {j.maxAttempts}
      </Fact>
      <Fact term="Priority" cell="priority">
        {j.priority}
      </Fact>
      <Fact term="Worker" cell="worker">
        {j.workerId === "" ? "—" : <Link to={`/workers?${new URLSearchParams({ worker: j.workerId }).toString()}`}>{j.workerId}</Link>}
      </Fact>
      <Fact term="Schedule" cell="schedule">
        {j.scheduleId === "" ? "—" : <Link to={`/jobs?${new URLSearchParams({ schedule: j.scheduleId }).toString()}`}>{j.scheduleId}</Link>}
      </Fact>
      <Fact term="Idempotency key" cell="idempotency-key">
        {j.idempotencyKey === "" ? "—" : <span className="mono">{j.idempotencyKey}</span>}
      </Fact>
      <Fact term="Timeout" cell="timeout">
        {j.timeout === undefined ? "service default" : formatDuration(j.timeout)}
      </Fact>
      {j.parents.length > 0 && (
        <Fact term="When a parent fails" cell="on-parent-failure">
          {label(ParentFailurePolicySchema, j.onParentFailure)}
        </Fact>
      )}
      <Fact term="Created" cell="created">
        <TimeText t={j.createdAt} />
      </Fact>
      <Fact term="Due" cell="scheduled">
        <TimeText t={j.scheduledAt} />
      </Fact>
      <Fact term="Started" cell="started">
        <TimeText t={j.startedAt} />
      </Fact>
      <Fact term="Finished" cell="finished">
        <TimeText t={j.completedAt} />
      </Fact>
      <Fact term="Updated" cell="updated">
        <TimeText t={j.updatedAt} />
      </Fact>
    </dl>
  );
}

function Progress({ job }: { job: Job }): ReactNode {
  const p = job.progress!;
  const percent = Math.round(p.percent * 10) / 10;
  return (
    <section aria-labelledby="progress-heading">
      <h2 id="progress-heading">Progress</h2>
      <div className="progress-line">
        <progress id="job-progress" max={100} value={p.percent} aria-labelledby="progress-heading" />
        <span data-fact="progress">{percent} %</span>
        <span className="hint">
          attempt {p.attempt}, <TimeText t={p.updatedAt} />
        </span>
      </div>
      {p.details !== undefined && Object.keys(p.details).length > 0 && (
        <pre data-block="progress-details" tabIndex={0}>
          {prettyJson(p.details)}
        </pre>
      )}
    </section>
  );
}

function LinkList({ title, links }: { title: string; links: JobLink[] }): ReactNode {
  return (
    <>
      <h3>{title}</h3>
      {links.length === 0 ? (
        <p>None.</p>
      ) : (
        <ul className="flow-links" aria-label={title}>
          {links.map((l) => (
            <li key={l.id} data-link-id={l.id}>
              <Link to={`/jobs/${l.id}`} className="mono">
                {l.id}
              </Link>{" "}
              {l.type} on {l.queue} <StatusBadge status={l.status} />
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

function Flow({ job }: { job: Job }): ReactNode {
  return (
    <section aria-labelledby="flow-heading">
      <h2 id="flow-heading">Flow</h2>
      <LinkList title="Parents" links={job.parents} />
      <LinkList title="Children" links={job.children} />
    </section>
  );
}
