import { toJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { JobEventTypeSchema, type JobEvent } from "@taskflow/proto";
import type { ReactNode } from "react";
import { label, prettyJson } from "../format.js";
import { TimeText } from "./JobTable.js";
import { StatusBadge } from "./StatusBadge.js";

/** A job's audit trail as an ordered list, oldest first: what happened, when, who did it and why. */
export function JobTimeline({ events }: { events: JobEvent[] }): ReactNode {
  if (events.length === 0) return <p>No events recorded yet.</p>;
  return (
    <ol className="timeline" aria-label="Audit trail, oldest first">
      {events.map((e) => (
        <li key={e.seq} data-seq={e.seq} data-type={label(JobEventTypeSchema, e.type)}>
          <div className="ev-head">
            <strong className="ev-type">{label(JobEventTypeSchema, e.type)}</strong> <StatusBadge status={e.status} />{" "}
            <TimeText t={e.occurredAt} />
          </div>
          <dl className="ev-facts">
            <div>
              <dt>Actor</dt>
              <dd data-cell="actor">{e.actor === "" ? "—" : e.actor}</dd>
            </div>
            <div>
              <dt>Reason</dt>
              <dd data-cell="reason">{e.reason === "" ? "—" : e.reason}</dd>
            </div>
            <div>
              <dt>Attempt</dt>
              <dd data-cell="attempt">{e.attempt}</dd>
            </div>
            <div>
              <dt>Worker</dt>
              <dd data-cell="worker">{e.workerId === "" ? "—" : e.workerId}</dd>
            </div>
          </dl>
          {e.error !== "" && <pre className="ev-error">{e.error}</pre>}
          {e.details !== undefined && Object.keys(e.details).length > 0 && <pre className="ev-details">{prettyJson(e.details)}</pre>}
          {e.result !== undefined && <pre className="ev-result">{prettyJson(toJson(ValueSchema, e.result))}</pre>}
        </li>
      ))}
    </ol>
  );
}
