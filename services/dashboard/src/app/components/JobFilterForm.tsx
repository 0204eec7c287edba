import { useState, type FormEvent, type ReactNode } from "react";
import { Link } from "react-router";
import { toLocalInput } from "../format.js";
import { PARAM, STATUS_NAMES, parseJsonObject } from "./JobSearch.js";

/** The time filters of the form, by URL parameter, with their labels. */
const TIMES = [
  { name: PARAM.from, label: "Created from" },
  { name: PARAM.to, label: "Created before" },
  { name: PARAM.finishedFrom, label: "Finished from" },
  { name: PARAM.finishedTo, label: "Finished before" },
] as const;

/** The single-line text filters, by URL parameter. */
const TEXTS = [
  { name: PARAM.type, label: "Types", hint: "comma-separated, e.g. echo, email.send" },
  { name: PARAM.queue, label: "Queues", hint: "comma-separated" },
  { name: PARAM.worker, label: "Worker id", hint: "" },
  { name: PARAM.schedule, label: "Schedule id", hint: "" },
] as const;

/**
 * Every ListJobs filter as a form, filled from the URL `params`. Submitting writes the filters
 * to the URL (`apply`), where the page reads them; a payload that is not a JSON object is
 * refused here, with the reason beside the field. Remount it (a `key`) when the URL changes.
 */
export function JobFilterForm({ params, apply }: { params: URLSearchParams; apply: (next: URLSearchParams) => void }): ReactNode {
  const [payloadError, setPayloadError] = useState<string | undefined>();
  const statuses = new Set(params.getAll(PARAM.status).flatMap((s) => s.toLowerCase().split(",")));

  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const text = (v: FormDataEntryValue | null) => (typeof v === "string" ? v.trim() : "");
    const field = (name: string) => text(form.get(name));
    const next = new URLSearchParams();
    for (const s of form.getAll(PARAM.status)) next.append(PARAM.status, text(s));
    for (const name of [PARAM.type, PARAM.queue]) {
      for (const v of field(name).split(",")) if (v.trim() !== "") next.append(name, v.trim());
    }
    for (const name of [PARAM.worker, PARAM.schedule, PARAM.text, PARAM.attempts]) if (field(name) !== "") next.set(name, field(name));
    const payload = field(PARAM.payload);
    if (payload !== "") {
      const parsed = parseJsonObject(payload);
      if (typeof parsed === "string") {
        setPayloadError(`Payload ${parsed}`);
        return;
      }
      next.set(PARAM.payload, JSON.stringify(parsed));
    }
    setPayloadError(undefined);
    for (const { name } of TIMES) {
      const local = field(name);
      if (local === "") continue;
      // Unchanged, the URL's own value stays (to the millisecond); a new one is the operator's local time.
      const before = params.get(name) ?? "";
      next.set(name, local === toLocalInput(before) ? before : new Date(local).toISOString());
    }
    if (field(PARAM.order) === "oldest") next.set(PARAM.order, "oldest");
    apply(next);
  };

  return (
    <form className="job-filters" onSubmit={submit} aria-label="Job filters">
      <fieldset className="statuses">
        <legend>Status</legend>
        {STATUS_NAMES.map((s) => (
          <label key={s} className="check">
            <input type="checkbox" name={PARAM.status} value={s} defaultChecked={statuses.has(s)} /> {s}
          </label>
        ))}
      </fieldset>
      {TEXTS.map((t) => (
        <div className="field" key={t.name}>
          <label htmlFor={`f-${t.name}`}>{t.label}</label>
          <input
            id={`f-${t.name}`}
            name={t.name}
            defaultValue={params.getAll(t.name).join(", ")}
            autoComplete="off"
            aria-describedby={t.hint === "" ? undefined : `f-${t.name}-hint`}
          />
          {t.hint !== "" && (
            <span className="hint" id={`f-${t.name}-hint`}>
              {t.hint}
            </span>
          )}
        </div>
      ))}
      <div className="field">
        <label htmlFor="f-text">Search payloads and errors</label>
        <input id="f-text" type="search" name={PARAM.text} defaultValue={params.get(PARAM.text) ?? ""} aria-describedby="f-text-hint" />
        <span className="hint" id="f-text-hint">
          words, &quot;a phrase&quot;, or, -excluded
        </span>
      </div>
      <div className="field">
        <label htmlFor="f-attempts">At least attempts</label>
        <input id="f-attempts" type="number" min={1} step={1} name={PARAM.attempts} defaultValue={params.get(PARAM.attempts) ?? ""} />
      </div>
      {TIMES.map((t) => (
        <div className="field" key={t.name}>
          <label htmlFor={`f-${t.name}`}>{t.label}</label>
          <input id={`f-${t.name}`} type="datetime-local" step={1} name={t.name} defaultValue={toLocalInput(params.get(t.name) ?? "")} />
        </div>
      ))}
      <div className="field">
        <label htmlFor="f-order">Order</label>
        <select id="f-order" name={PARAM.order} defaultValue={params.get(PARAM.order) === "oldest" ? "oldest" : "newest"}>
          <option value="newest">newest first</option>
          <option value="oldest">oldest first</option>
        </select>
      </div>
      <div className="field wide">
        <label htmlFor="f-payload">Payload contains (JSON object)</label>
        <textarea
          id="f-payload"
          name={PARAM.payload}
          rows={2}
          spellCheck={false}
          defaultValue={params.get(PARAM.payload) ?? ""}
          placeholder='{"customer": {"id": 42}}'
          aria-invalid={payloadError !== undefined}
          aria-describedby={payloadError === undefined ? undefined : "f-payload-error"}
        />
        {payloadError !== undefined && (
          <span className="notice error" id="f-payload-error" role="alert">
            {payloadError}
          </span>
        )}
      </div>
      <div className="buttons wide">
        <button type="submit">Apply filters</button>
        <Link to="/jobs">Clear filters</Link>
      </div>
    </form>
  );
}
