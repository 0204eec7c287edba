import { durationMs } from "@bufbuild/protobuf/wkt";
import { useQuery } from "@tanstack/react-query";
import { OverlapPolicy, OverlapPolicySchema, type Schedule } from "@taskflow/proto";
import { useEffect, useState, type ReactNode } from "react";
import { Link, useSearchParams } from "react-router";
import { ActionButton } from "../components/ActionButton.js";
import { ErrorNotice } from "../components/ErrorNotice.js";
import { NextFirings } from "../components/NextFirings.js";
import { ScheduleForm } from "../components/ScheduleForm.js";
import { ScheduleRuns } from "../components/ScheduleRuns.js";
import { formatCount, formatSpan, formatTime, isoTime, label } from "../format.js";
import { useApi } from "../session.js";

/** How often the schedules are read again. */
const LIVE_MS = 5_000;
/** Schedules per page (ListSchedules takes 1 to 500). */
const PAGE_SIZE = 100;

/**
 * Every schedule (ScheduleService.ListSchedules, a page of 100 at a time, read every 5 s): when
 * it fires, the job it submits, its overlap policy, pause, next firings and last run, with Edit,
 * Pause/Resume, Trigger and Delete. The schedule named by the URL's `schedule` shows its
 * definition and recent runs below. "New schedule" and Edit open the schedule form above the
 * list; once saved, the schedule is selected. URL state: `schedule`, `page` (a page token),
 * `form` (`new`, or `edit` of the selected schedule).
 */
export function SchedulesPage(): ReactNode {
  const api = useApi();
  const [params, setParams] = useSearchParams();
  const selected = params.get("schedule") ?? "";
  const pageToken = params.get("page") ?? "";
  const form = params.get("form") ?? "";
  const [saved, setSaved] = useState<{ id: string; text: string } | undefined>();
  useEffect(() => {
    if (form !== "") setSaved(undefined);
  }, [form]);
  const closeForm = () => setParams((p) => withParam(p, "form", ""));
  const onSaved = (verb: string) => (s: Schedule) => {
    setSaved({ id: s.id, text: `Schedule ${s.id} ${verb} (version ${s.version.toString()}).` });
    setParams((p) => withParam(withParam(p, "schedule", s.id), "form", ""));
  };
  const schedules = useQuery({
    queryKey: ["schedules", pageToken],
    queryFn: () => api.schedules.listSchedules({ pageSize: PAGE_SIZE, pageToken }),
    refetchInterval: LIVE_MS,
  });
  const select = (id: string) => setParams((p) => withParam(p, "schedule", id));
  const list = schedules.data?.schedules ?? [];
  const next = schedules.data?.nextPageToken ?? "";

  return (
    <>
      <h1>Schedules</h1>
      <div className="toolbar">
        <span role="status">
          {schedules.data === undefined ? "Loading…" : `${formatCount(list.length)} schedule${list.length === 1 ? "" : "s"}${pageToken === "" && next === "" ? "" : " on this page"}`}
        </span>
        {form !== "new" && (
          <Link to={`?${withParam(params, "form", "new").toString()}`} className="button">
            New schedule
          </Link>
        )}
        <span className="hint">live: every {LIVE_MS / 1_000} s</span>
      </div>
      {form === "" && saved !== undefined && saved.id === selected && (
        <p className="notice ok" role="status">
          {saved.text}
        </p>
      )}
      {form === "new" && <ScheduleForm onSaved={onSaved("created")} onCancel={closeForm} />}
      {form === "edit" && selected !== "" && <EditSchedule key={selected} id={selected} onSaved={onSaved("saved")} onCancel={closeForm} />}
      <ErrorNotice error={schedules.error} />
      {schedules.data !== undefined && list.length === 0 && pageToken === "" && <p>No schedules yet: create one with New schedule, ScheduleService.CreateSchedule or the CLI.</p>}
      {list.length > 0 && <ScheduleTable schedules={list} selected={selected} onTrigger={select} />}
      <nav className="pager" aria-label="Schedule pages">
        {pageToken !== "" && <Link to={`?${withParam(params, "page", "").toString()}`}>First page</Link>}
        {next !== "" && <Link to={`?${withParam(params, "page", next).toString()}`}>Next page</Link>}
      </nav>
      {selected !== "" && <ScheduleRuns id={selected} />}
    </>
  );
}

/**
 * The form filled from the schedule as GetSchedule reads it. "Reload schedule" (offered on a
 * stale edit) reads it again and fills the form anew.
 */
function EditSchedule(props: { id: string; onSaved: (s: Schedule) => void; onCancel: () => void }): ReactNode {
  const { id, onSaved, onCancel } = props;
  const api = useApi();
  const schedule = useQuery({ queryKey: ["schedule", id], queryFn: () => api.schedules.getSchedule({ id }), retry: false });
  const [generation, setGeneration] = useState(0);
  const reload = async () => {
    await schedule.refetch();
    setGeneration((g) => g + 1);
  };
  const s = schedule.data?.schedule;
  if (s === undefined) return schedule.error === null ? <p role="status">Reading schedule {id}…</p> : <ErrorNotice error={schedule.error} />;
  return <ScheduleForm key={generation} editing={s} onSaved={onSaved} onCancel={onCancel} onReload={() => void reload()} />;
}

/** `params` with `key` set to `value`, or removed when `value` is empty. */
function withParam(params: URLSearchParams, key: string, value: string): URLSearchParams {
  const p = new URLSearchParams(params);
  if (value === "") p.delete(key);
  else p.set(key, value);
  return p;
}

function ScheduleTable(props: { schedules: Schedule[]; selected: string; onTrigger: (id: string) => void }): ReactNode {
  const { schedules, selected, onTrigger } = props;
  const [params] = useSearchParams();
  return (
    <div className="scroll">
      <table className="schedules">
        <caption className="visually-hidden">Schedules by id, read live; pick an id for its recent runs</caption>
        <thead>
          <tr>
            <th scope="col">Schedule</th>
            <th scope="col">When</th>
            <th scope="col">Job</th>
            <th scope="col">Overlap</th>
            <th scope="col">State</th>
            <th scope="col">Next firings</th>
            <th scope="col">Last run</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {schedules.map((s) => (
            <tr key={s.id} data-schedule={s.id} className={s.id === selected ? "selected" : undefined}>
              <th scope="row">
                <Link to={`?${withParam(params, "schedule", s.id).toString()}`} aria-current={s.id === selected ? "true" : undefined} className="mono">
                  {s.id}
                </Link>
              </th>
              <td data-field="spec">
                <SpecText schedule={s} />
              </td>
              <td data-field="template">
                <code>{s.template?.type ?? "—"}</code> on <code>{s.template?.queue || "default"}</code>
              </td>
              <td data-field="overlap">{overlapText(s.overlapPolicy)}</td>
              <td data-field="state">{s.paused ? <span className="badge paused">paused</span> : "active"}</td>
              <td data-field="next">
                <NextFirings schedule={s} />
              </td>
              <td data-field="last">
                <LastRun schedule={s} />
              </td>
              <td>
                <ScheduleActions schedule={s} onTrigger={() => onTrigger(s.id)} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** `cron 0 9 * * 1-5 (Europe/Berlin)` or `every 1 h`. */
export function SpecText({ schedule }: { schedule: Schedule }): ReactNode {
  const spec = schedule.spec;
  if (spec.case === "cron") {
    return (
      <>
        cron <code>{spec.value}</code> ({schedule.timeZone || "UTC"})
      </>
    );
  }
  if (spec.case === "interval") return <>every {formatSpan(durationMs(spec.value))}</>;
  return <>—</>;
}

/** The overlap policy as the CLI spells it; unspecified means skip (schedule.proto). */
export const overlapText = (p: OverlapPolicy): string => label(OverlapPolicySchema, p === OverlapPolicy.UNSPECIFIED ? OverlapPolicy.SKIP : p);

function LastRun({ schedule }: { schedule: Schedule }): ReactNode {
  if (schedule.lastRunAt === undefined) return <span className="hint">not yet</span>;
  return (
    <>
      <time dateTime={isoTime(schedule.lastRunAt)}>{formatTime(schedule.lastRunAt)}</time>
      {schedule.lastJobId !== "" && (
        <>
          <br />
          <Link to={`/jobs/${encodeURIComponent(schedule.lastJobId)}`} className="mono">
            {schedule.lastJobId}
          </Link>
        </>
      )}
    </>
  );
}

function ScheduleActions({ schedule, onTrigger }: { schedule: Schedule; onTrigger: () => void }): ReactNode {
  const api = useApi();
  const [params] = useSearchParams();
  const id = schedule.id;
  return (
    <div className="actions">
      <Link to={`?${withParam(withParam(params, "schedule", id), "form", "edit").toString()}`} className="button secondary">
        Edit
      </Link>
      {schedule.paused ? (
        <ActionButton label="Resume" run={() => api.schedules.resumeSchedule({ id })} />
      ) : (
        <ActionButton label="Pause" run={() => api.schedules.pauseSchedule({ id })} />
      )}
      <ActionButton
        label="Trigger"
        run={async () => {
          const res = await api.schedules.triggerSchedule({ id });
          onTrigger();
          return res;
        }}
      />
      <ActionButton
        label="Delete"
        danger
        confirm={`Delete schedule ${id}? It fires no more; the jobs it submitted are kept.`}
        run={() => api.schedules.deleteSchedule({ id })}
      />
    </div>
  );
}
