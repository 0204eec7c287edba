import type { MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { Queue, QueueLimitsSchema } from "@taskflow/proto";
import { useId, useState, type FormEvent, type ReactNode } from "react";
import { describeError } from "../api.js";
import { useApi } from "../session.js";
import { describeLimits, plainLimits, type PlainLimits } from "./QueueLimitsText.js";

/** The form's fields as typed, before validation. */
export interface LimitsInput {
  maxRunning: string;
  maxStarts: string;
  per: string;
  unit: "ms" | "s";
  type: string;
}

type Field = keyof LimitsInput;
type Parsed = { ok: true; limits: { maxRunning: number; maxStarts: number; perMs: number }; type: string } | { ok: false; field: Field; message: string };

/** The largest value an int32 field carries; the service's own, lower bounds it states itself. */
const INT32_MAX = 2_147_483_647;
const NONE: PlainLimits = { maxRunning: 0, maxStarts: 0, perMs: 0 };

/**
 * The fields showing `limits` for `type` (as typed): a zero is left empty, as the operator would
 * leave it; the window in seconds when it is whole ones, else in milliseconds.
 */
export function limitsInput(limits: PlainLimits, type: string): LimitsInput {
  const windowed = limits.maxStarts > 0 && limits.perMs > 0;
  const seconds = limits.perMs % 1_000 === 0;
  return {
    maxRunning: limits.maxRunning > 0 ? String(limits.maxRunning) : "",
    maxStarts: limits.maxStarts > 0 ? String(limits.maxStarts) : "",
    per: windowed ? String(seconds ? limits.perMs / 1_000 : limits.perMs) : "",
    unit: windowed && !seconds ? "ms" : "s",
    type,
  };
}

/** The limits in force for the queue (`type` empty) or for its jobs of `type`: none when it has none. */
export function limitsInForce(q: Queue, type: string): PlainLimits {
  if (type === "") return plainLimits(q.limits);
  const t = q.typeLimits.find((l) => l.type === type);
  return t === undefined ? NONE : plainLimits(t.limits);
}

/**
 * Checks what the operator typed before anything is sent: counts are whole numbers, 0 or more
 * (empty: 0); `per` is required with max starts and refused without it, as the service would.
 * Bounds the service states (max running up to 100,000, per up to a day) are left to it, so its
 * own words explain them.
 */
export function parseLimitsInput(input: LimitsInput): Parsed {
  const count = (field: "maxRunning" | "maxStarts", name: string): number | string => {
    const text = input[field].trim();
    if (text === "") return 0;
    if (!/^\d+$/.test(text)) return `${name} must be a whole number, 0 or more (empty: 0).`;
    const n = Number(text);
    return n > INT32_MAX ? `${name} is too large.` : n;
  };
  const maxRunning = count("maxRunning", "Max running");
  if (typeof maxRunning === "string") return { ok: false, field: "maxRunning", message: maxRunning };
  const maxStarts = count("maxStarts", "Max starts");
  if (typeof maxStarts === "string") return { ok: false, field: "maxStarts", message: maxStarts };
  const perText = input.per.trim();
  const type = input.type.trim();
  if (maxStarts === 0) {
    if (perText !== "") return { ok: false, field: "per", message: "Per is the window of max starts: leave it empty without max starts." };
    return { ok: true, limits: { maxRunning, maxStarts, perMs: 0 }, type };
  }
  if (perText === "") return { ok: false, field: "per", message: "Per is required with max starts: the window the starts are counted in." };
  const perMs = input.unit === "s" ? Number(perText) * 1_000 : Number(perText);
  const shape = input.unit === "s" ? /^\d+(\.\d{1,3})?$/ : /^\d+$/;
  if (!shape.test(perText) || !Number.isSafeInteger(Math.round(perMs)) || Math.round(perMs) < 1) {
    return { ok: false, field: "per", message: input.unit === "s" ? "Per must be a number of seconds above 0, to the millisecond." : "Per must be a whole number of milliseconds above 0." };
  }
  return { ok: true, limits: { maxRunning, maxStarts, perMs: Math.round(perMs) }, type };
}

function toMessage(l: { maxRunning: number; maxStarts: number; perMs: number }): MessageInitShape<typeof QueueLimitsSchema> {
  return { maxRunning: l.maxRunning, maxStarts: l.maxStarts, per: l.maxStarts > 0 ? durationFromMs(l.perMs) : undefined };
}

/**
 * Sets a queue's limits, or those of one job type in it (QueueService.SetQueueLimits). The fields
 * start from the queue's limits in force (`q`, as GetQueue read it), and show a job type's when
 * the type field changes to it (empty when it has none), so a change to one field keeps the
 * others. The input is checked here first; a refusal of the service (invalid_argument,
 * permission_denied) is shown in its words. "Clear limits" sets all zero for the queue or the
 * type given.
 */
export function QueueLimitsForm({ q }: { q: Queue }): ReactNode {
  const api = useApi();
  const client = useQueryClient();
  const id = useId();
  const queue = q.name;
  // From the limits in force when the form appears; the live reads after it do not overwrite what is being typed.
  const [input, setInput] = useState<LimitsInput>(() => limitsInput(limitsInForce(q, ""), ""));
  const [invalid, setInvalid] = useState<{ field: Field; message: string } | undefined>();
  const save = useMutation({
    mutationFn: async (p: { limits: { maxRunning: number; maxStarts: number; perMs: number }; type: string }) => {
      await api.queues.setQueueLimits({ name: queue, limits: toMessage(p.limits), type: p.type });
      return p;
    },
    onSettled: () => client.invalidateQueries(),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const parsed = parseLimitsInput(input);
    save.reset();
    if (!parsed.ok) {
      setInvalid({ field: parsed.field, message: parsed.message });
      return;
    }
    setInvalid(undefined);
    save.mutate(parsed);
  };
  const clear = () => {
    save.reset();
    setInvalid(undefined);
    save.mutate({ limits: NONE, type: input.type.trim() }, { onSuccess: () => setInput((prev) => limitsInput(NONE, prev.type)) });
  };
  const set = (field: Field) => (e: { target: { value: string } }) => setInput((prev) => ({ ...prev, [field]: e.target.value }));
  const setType = (e: { target: { value: string } }) => {
    setInvalid(undefined);
    setInput(limitsInput(limitsInForce(q, e.target.value.trim()), e.target.value));
  };
  const fieldProps = (field: Field) => ({
    id: `${id}-${field}`,
    value: input[field],
    onChange: set(field),
    "aria-invalid": invalid?.field === field ? true : undefined,
    "aria-describedby": invalid?.field === field ? `${id}-problem` : `${id}-${field}-hint`,
  });
  const done = save.data;
  return (
    <form className="limits-form" onSubmit={submit} noValidate aria-label={`Limits of ${queue}`}>
      <div className="fields">
        <div>
          <label htmlFor={`${id}-maxRunning`}>Max running</label>
          <input {...fieldProps("maxRunning")} inputMode="numeric" autoComplete="off" size={8} />
          <span className="hint" id={`${id}-maxRunning-hint`}>
            leased at once; 0 or empty: no limit
          </span>
        </div>
        <div>
          <label htmlFor={`${id}-maxStarts`}>Max starts</label>
          <input {...fieldProps("maxStarts")} inputMode="numeric" autoComplete="off" size={8} />
          <span className="hint" id={`${id}-maxStarts-hint`}>
            started per window; 0 or empty: no limit
          </span>
        </div>
        <div>
          <label htmlFor={`${id}-per`}>Per</label>
          <span className="per">
            <input {...fieldProps("per")} inputMode="decimal" autoComplete="off" size={6} />
            <label className="visually-hidden" htmlFor={`${id}-unit`}>
              Unit of per
            </label>
            <select id={`${id}-unit`} value={input.unit} onChange={(e) => setInput((prev) => ({ ...prev, unit: e.target.value === "ms" ? "ms" : "s" }))}>
              <option value="s">seconds</option>
              <option value="ms">milliseconds</option>
            </select>
          </span>
          <span className="hint" id={`${id}-per-hint`}>
            the window of max starts
          </span>
        </div>
        <div>
          <label htmlFor={`${id}-type`}>Job type</label>
          <input {...fieldProps("type")} onChange={setType} list={`${id}-types`} autoComplete="off" size={12} />
          <datalist id={`${id}-types`}>
            {q.typeLimits.map((t) => (
              <option key={t.type} value={t.type} />
            ))}
          </datalist>
          <span className="hint" id={`${id}-type-hint`}>
            empty: the whole queue; a type shows its limits
          </span>
        </div>
      </div>
      <div className="toolbar">
        <button type="submit" disabled={save.isPending}>
          Set limits
        </button>
        <button type="button" className="secondary" disabled={save.isPending} onClick={clear}>
          Clear limits
        </button>
        {invalid !== undefined && (
          <span className="notice error" role="alert" id={`${id}-problem`}>
            {invalid.message}
          </span>
        )}
        {save.isError && (
          <span className="notice error" role="alert">
            {describeError(save.error)}
          </span>
        )}
        {save.isSuccess && done !== undefined && (
          <span className="notice ok" role="status">
            {done.type === "" ? `Limits of ${queue}` : `Limits of type ${done.type} in ${queue}`}: {describeLimits(done.limits)}
          </span>
        )}
      </div>
    </form>
  );
}
