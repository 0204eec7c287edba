import { useQuery } from "@tanstack/react-query";
import { SortOrder, type Schedule } from "@taskflow/proto";
import type { ReactNode } from "react";
import { Link } from "react-router";
import { formatDuration, formatTime, isoTime } from "../format.js";
import { useApi } from "../session.js";
import { ErrorNotice } from "./ErrorNotice.js";
import { StatusBadge } from "./StatusBadge.js";

/** How often the runs are read again. */
const LIVE_MS = 3_000;
/** Runs listed; the Jobs page has them all. */
const RECENT_RUNS = 10;

/**
 * One schedule's definition (ScheduleService.GetSchedule) and its newest runs
 * (HistoryService.ListJobs by `schedule_id`), read live, with a link to all of them on the Jobs
 * page. The runs stay listed after the schedule is deleted: history keeps its jobs.
 */
export function ScheduleRuns({ id }: { id: string }): ReactNode {
  const api = useApi();
  const schedule = useQuery({ queryKey: ["schedule", id], queryFn: () => api.schedules.getSchedule({ id }), refetchInterval: LIVE_MS, retry: false });
  const runs = useQuery({
    queryKey: ["schedule-runs", id],
    queryFn: () => api.history.listJobs({ scheduleId: id, order: SortOrder.NEWEST_FIRST, pageSize: RECENT_RUNS }),
    refetchInterval: LIVE_MS,
  });
  const jobs = runs.data?.jobs ?? [];
  return (
    <section aria-labelledby="schedule-heading" className="schedule-detail">
      <h2 id="schedule-heading">
        Schedule <span className="mono">{id}</span>
      </h2>
      <ErrorNotice error={schedule.error} />
      {schedule.data?.schedule !== undefined && <Definition schedule={schedule.data.schedule} />}
      <h3 id="runs-heading">Recent runs</h3>
      <ErrorNotice error={runs.error} />
      {runs.data !== undefined && jobs.length === 0 && <p>No runs yet.</p>}
      {jobs.length > 0 && (
        <div className="scroll">
          <table aria-labelledby="runs-heading" data-runs={id}>
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Status</th>
                <th scope="col">Submitted</th>
                <th scope="col" className="num">Attempts</th>
                <th scope="col">Finished</th>
              </tr>
            </thead>
            <tbody>
              {jobs.map((j) => (
                <tr key={j.id} data-job={j.id}>
                  <th scope="row">
                    <Link to={`/jobs/${encodeURIComponent(j.id)}`} className="mono">
                      {j.id}
                    </Link>
                  </th>
                  <td>
                    <StatusBadge status={j.status} />
                  </td>
                  <td>
                    <time dateTime={isoTime(j.createdAt)}>{formatTime(j.createdAt)}</time>
                  </td>
                  <td className="num">
                    {j.attempts} / {j.maxAttempts}
                  </td>
                  <td>
                    <time dateTime={isoTime(j.completedAt)}>{formatTime(j.completedAt)}</time>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p>
        <Link to={`/jobs?${new URLSearchParams({ schedule: id }).toString()}`}>All runs</Link>
        <span className="hint"> of {id}, on the Jobs page (newest {RECENT_RUNS} here)</span>
      </p>
    </section>
  );
}

function Definition({ schedule: s }: { schedule: Schedule }): ReactNode {
  const t = s.template;
  return (
    <dl className="facts">
      <div>
        <dt>Payload</dt>
        <dd>
          <code>{JSON.stringify(t?.payload ?? {})}</code>
        </dd>
      </div>
      <div>
        <dt>Priority</dt>
        <dd>{t?.priority ?? 0}</dd>
      </div>
      <div>
        <dt>Max attempts</dt>
        <dd>{t?.maxAttempts ?? "default (3)"}</dd>
      </div>
      <div>
        <dt>Timeout</dt>
        <dd>{t?.timeout === undefined ? "the scheduler's default" : formatDuration(t.timeout)}</dd>
      </div>
      <div>
        <dt>Catch-up</dt>
        <dd>{s.catchUp ?? "default (1)"}</dd>
      </div>
      <div>
        <dt>Created</dt>
        <dd>
          {formatTime(s.createdAt)} by {s.createdBy || "—"}
        </dd>
      </div>
      <div>
        <dt>Changed</dt>
        <dd>
          {formatTime(s.updatedAt)} by {s.updatedBy || "—"} (version {s.version.toString()})
        </dd>
      </div>
    </dl>
  );
}
