import { Code, ConnectError } from "@connectrpc/connect";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { Schedule } from "@taskflow/proto";
import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from "react";
import { describeError } from "../api.js";
import { EMPTY_INPUT, fieldOfRefusal, inputOf, parseScheduleInput, previewOf, type InputField, type ScheduleInput } from "../schedule-input.js";
import { useApi } from "../session.js";
import { NextFirings } from "./NextFirings.js";

/** IANA zones the browser knows, offered as the time zone is typed (the service decides). */
const TIME_ZONES = ["UTC", ...Intl.supportedValuesOf("timeZone").filter((z) => z !== "UTC")];

/** What every field of the form shares: ids, the input, and which field the current problem names. */
interface Kit {
  id: string;
  input: ScheduleInput;
  update: (patch: Partial<ScheduleInput>) => void;
  wrong: InputField | undefined;
}

/**
 * Creates a schedule (ScheduleService.CreateSchedule), or edits `editing` (UpdateSchedule, its id
 * fixed, its pause kept as the RPC keeps it). What is typed is checked here first
 * (schedule-input.ts) and its next three firings shown as the scheduler would fire it. An edit
 * is sent with the version the form was filled from (`expected_version`), so the service refuses
 * it with failed_precondition when the schedule changed since; the form then offers `onReload`.
 * A refusal of the service (invalid_argument naming the field, permission_denied) is shown in its
 * words, the field it names marked.
 */
export function ScheduleForm(props: { editing?: Schedule; onSaved: (s: Schedule) => void; onCancel: () => void; onReload?: () => void }): ReactNode {
  const id = useId();
  // The schedule as first read: later reads of it must not move the version the edit is checked against.
  const [base] = useState(props.editing);
  const [input, setInput] = useState<ScheduleInput>(base === undefined ? EMPTY_INPUT : inputOf(base));
  const [invalid, setInvalid] = useState<{ field: InputField; message: string } | undefined>();
  const save = useSave(base, props.onSaved);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.reset();
    const parsed = parseScheduleInput(base === undefined ? input : { ...input, id: base.id });
    setInvalid(parsed.ok ? undefined : parsed);
    if (parsed.ok) save.mutate(parsed.schedule);
    else document.getElementById(`${id}-${parsed.field}`)?.focus();
  };
  const refusal = save.isError ? ConnectError.from(save.error) : undefined;
  const kit: Kit = {
    id,
    input,
    update: (patch) => setInput((prev) => ({ ...prev, ...patch })),
    wrong: invalid?.field ?? (refusal === undefined ? undefined : fieldOfRefusal(refusal.rawMessage)),
  };
  return (
    <section className="schedule-form" aria-labelledby={`${id}-heading`} data-schedule-form={base?.id ?? "new"}>
      <h2 id={`${id}-heading`} ref={heading} tabIndex={-1}>
        {base === undefined ? "New schedule" : `Edit schedule ${base.id}`}
      </h2>
      <form onSubmit={submit} noValidate aria-labelledby={`${id}-heading`}>
        <div className="fields">
          <Field kit={kit} name="id" label="Id" hint={base === undefined ? 'letters, digits and "._:-", up to 128; fixed once created' : "fixed once created"} readOnly={base !== undefined} />
        </div>
        <SpecFields kit={kit} creating={base === undefined} />
        <TemplateFields kit={kit} />
        <RunFields kit={kit} editing={base} />
        <div className="toolbar">
          <button type="submit" disabled={save.isPending}>
            {base === undefined ? "Create schedule" : "Save changes"}
          </button>
          <button type="button" className="secondary" onClick={props.onCancel}>
            Cancel
          </button>
          <Problem id={`${id}-problem`} invalid={invalid?.message} refusal={save.error} onReload={props.onReload} />
        </div>
      </form>
    </section>
  );
}

/** Creates, or updates `base` from the version the form was filled from. */
function useSave(base: Schedule | undefined, onSaved: (s: Schedule) => void) {
  const api = useApi();
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (schedule: Schedule): Promise<Schedule | undefined> => {
      if (base === undefined) return (await api.schedules.createSchedule({ schedule })).schedule;
      return (await api.schedules.updateSchedule({ schedule, expectedVersion: base.version })).schedule;
    },
    onSettled: () => client.invalidateQueries(),
    onSuccess: (stored) => {
      if (stored !== undefined) onSaved(stored);
    },
  });
}

/** What stopped the save: the form's own check, or the service's refusal (a stale edit with a way to reload). */
function Problem(props: { id: string; invalid: string | undefined; refusal: unknown; onReload: (() => void) | undefined }): ReactNode {
  const { id, invalid, refusal, onReload } = props;
  if (invalid !== undefined) {
    return (
      <span className="notice error" role="alert" id={id}>
        {invalid}
      </span>
    );
  }
  if (refusal === null || refusal === undefined) return null;
  const stale = ConnectError.from(refusal).code === Code.FailedPrecondition;
  return (
    <>
      <span className="notice error" role="alert" id={id}>
        {describeError(refusal)}
      </span>
      {stale && onReload !== undefined && (
        <button type="button" className="secondary" onClick={onReload}>
          Reload schedule
        </button>
      )}
    </>
  );
}

/** A labelled text field with its hint, marked invalid (and described by the problem) when the problem names it. */
function Field(props: { kit: Kit; name: InputField; label: string; hint: string; readOnly?: boolean; numeric?: "numeric" | "decimal"; multiline?: boolean; list?: string }): ReactNode {
  const { kit, name, label, hint, readOnly = false, numeric, multiline = false, list } = props;
  const control = {
    id: `${kit.id}-${name}`,
    value: String(kit.input[name]),
    onChange: (e: { target: { value: string } }) => kit.update({ [name]: e.target.value }),
    readOnly,
    autoComplete: "off",
    spellCheck: false,
    "aria-invalid": kit.wrong === name ? true : undefined,
    "aria-describedby": kit.wrong === name ? `${kit.id}-problem ${kit.id}-${name}-hint` : `${kit.id}-${name}-hint`,
  };
  return (
    <div className={multiline ? "wide" : undefined}>
      <label htmlFor={control.id}>{label}</label>
      {multiline ? <textarea {...control} rows={4} className="mono" /> : <input {...control} inputMode={numeric} list={list} className={name === "cron" ? "mono" : undefined} />}
      <span className="hint" id={`${control.id}-hint`}>
        {hint}
      </span>
    </div>
  );
}

/** Cron expression and time zone, or an interval; and the next three firings of what is typed. */
function SpecFields({ kit, creating }: { kit: Kit; creating: boolean }): ReactNode {
  const { id, input, update } = kit;
  const preview = previewOf(input);
  return (
    <fieldset>
      <legend>When it fires</legend>
      <div className="choices">
        {(["cron", "interval"] as const).map((kind) => (
          <label key={kind} className="check">
            <input type="radio" name={`${id}-kind`} value={kind} checked={input.kind === kind} onChange={() => update({ kind })} />
            {kind === "cron" ? "Cron expression" : "Interval"}
          </label>
        ))}
      </div>
      <div className="fields">
        {input.kind === "cron" ? (
          <>
            <Field kit={kit} name="cron" label="Cron expression" hint="5 fields (minute hour day month weekday), or 6 with seconds first" />
            <Field kit={kit} name="timeZone" label="Time zone" hint="IANA, e.g. Europe/Berlin; empty: UTC" list={`${id}-zones`} />
          </>
        ) : (
          <div className="every">
            <Field kit={kit} name="every" label="Every" hint="1 s to 1 year; ticks this far apart from saving" numeric="decimal" />
            <div>
              <label htmlFor={`${id}-unit`}>Unit</label>
              <select id={`${id}-unit`} value={input.unit} onChange={(e) => update({ unit: e.target.value as ScheduleInput["unit"] })}>
                <option value="s">seconds</option>
                <option value="m">minutes</option>
                <option value="h">hours</option>
                <option value="d">days</option>
              </select>
            </div>
          </div>
        )}
      </div>
      <datalist id={`${id}-zones`}>
        {TIME_ZONES.map((z) => (
          <option key={z} value={z} />
        ))}
      </datalist>
      <div className="preview" data-preview>
        <h3>Next firings{input.paused && creating ? ", once resumed" : ""}</h3>
        {preview === undefined ? (
          <span className="hint">type {input.kind === "cron" ? "a cron expression" : "an interval"} to see when it fires</span>
        ) : (
          <NextFirings schedule={preview} from={Date.now()} />
        )}
      </div>
    </fieldset>
  );
}

/** The job each run submits. */
function TemplateFields({ kit }: { kit: Kit }): ReactNode {
  return (
    <fieldset>
      <legend>The job each run submits</legend>
      <div className="fields">
        <Field kit={kit} name="type" label="Job type" hint="the handler it runs" />
        <Field kit={kit} name="queue" label="Queue" hint="empty: default" />
        <Field kit={kit} name="priority" label="Priority" hint="0 to 1000; higher runs first" numeric="numeric" />
        <Field kit={kit} name="maxAttempts" label="Max attempts" hint="1 to 100; empty: 3" numeric="numeric" />
        <Field kit={kit} name="timeout" label="Timeout (seconds)" hint="one attempt's; empty: the scheduler's default" numeric="decimal" />
        <Field kit={kit} name="payload" label="Payload (JSON object)" hint={`the handler's input, e.g. {"report": "daily"}`} multiline />
      </div>
    </fieldset>
  );
}

/** Overlap policy, catch-up, and the pause of a new schedule (an edit keeps the pause, as UpdateSchedule does). */
function RunFields({ kit, editing }: { kit: Kit; editing: Schedule | undefined }): ReactNode {
  const { id, input, update } = kit;
  return (
    <fieldset>
      <legend>Runs</legend>
      <div className="fields">
        <div>
          <label htmlFor={`${id}-overlap`}>While the previous run is unfinished</label>
          <select id={`${id}-overlap`} value={input.overlap} aria-invalid={kit.wrong === "overlap" ? true : undefined} onChange={(e) => update({ overlap: e.target.value as ScheduleInput["overlap"] })}>
            <option value="skip">skip: submit nothing</option>
            <option value="allow">allow: submit beside it</option>
            <option value="cancel_previous">cancel_previous: cancel it, then submit</option>
          </select>
        </div>
        <Field kit={kit} name="catchUp" label="Catch-up" hint="missed ticks run after downtime: 0 to the scheduler's SCHEDULE_MAX_CATCH_UP (10 unless set); empty: 1" numeric="numeric" />
        {editing === undefined ? (
          <div>
            <label className="check">
              <input type="checkbox" checked={input.paused} onChange={(e) => update({ paused: e.target.checked })} />
              Create paused
            </label>
            <span className="hint">it fires once resumed</span>
          </div>
        ) : (
          <p className="hint">{editing.paused ? "Paused" : "Active"}: saving keeps it so; Pause and Resume are in the list.</p>
        )}
      </div>
    </fieldset>
  );
}
