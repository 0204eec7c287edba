import type { Job } from "@taskflow/proto";
import type { ReactNode } from "react";
import { Link } from "react-router";
import { excerpt, formatTime, isoTime } from "../format.js";
import { StatusBadge } from "./StatusBadge.js";

/** A time cell: the locale's words, the ISO time for machines. */
export function TimeText({ t }: { t: Job["createdAt"] }): ReactNode {
  return t === undefined ? "—" : <time dateTime={isoTime(t)}>{formatTime(t)}</time>;
}

/** One row per job, each linking to its page; `caption` says which jobs they are. */
export function JobTable({ jobs, caption }: { jobs: Job[]; caption: string }): ReactNode {
  return (
    <div className="scroll">
      <table className="jobs">
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Job</th>
            <th scope="col">Type</th>
            <th scope="col">Queue</th>
            <th scope="col">Status</th>
            <th scope="col" className="num">Attempts</th>
            <th scope="col" className="num">Progress</th>
            <th scope="col">Created</th>
            <th scope="col">Finished</th>
            <th scope="col">Worker</th>
            <th scope="col">Error</th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((j) => (
            <tr key={j.id} data-job-id={j.id}>
              <th scope="row" className="mono">
                <Link to={`/jobs/${j.id}`} aria-label={`Job ${j.id}`}>
                  {j.id}
                </Link>
              </th>
              <td>{j.type}</td>
              <td>{j.queue}</td>
              <td data-cell="status">
                <StatusBadge status={j.status} />
              </td>
              <td className="num" data-cell="attempts">
                {j.attempts} / {j.maxAttempts}
              </td>
              <td className="num" data-cell="progress">
                {j.progress === undefined ? "—" : `${Math.round(j.progress.percent)} %`}
              </td>
              <td>
                <TimeText t={j.createdAt} />
              </td>
              <td>
                <TimeText t={j.completedAt} />
              </td>
              <td>{j.workerId === "" ? "—" : j.workerId}</td>
              <td className="error-cell" title={j.error === "" ? undefined : j.error}>
                {j.error === "" ? "" : excerpt(j.error)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
