import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ExportAuditTrailRequestSchema } from "@taskflow/proto";
import { useEffect, useRef, useState, type FormEvent, type ReactNode } from "react";
import { describeError, type Api } from "../api.js";
import { formatCount } from "../format.js";
import { useApi } from "../session.js";

/** Lines of the export shown before the download. */
const PREVIEW_LINES = 5;
const DAY_MS = 86_400_000;

/** A finished export: the file to download and what it holds. */
interface Exported {
  url: string;
  fileName: string;
  events: number;
  bytes: number;
  preview: string[];
}

/**
 * Exports the audit trail of a time range (HistoryService.ExportAuditTrail, a stream of NDJSON
 * chunks) into a file the browser downloads, counting the events and previewing the first lines.
 * The range is read in the operator's time zone, to the second, half-open: [from, to).
 */
export function AuditExport(): ReactNode {
  const api = useApi();
  const [range, setRange] = useState(lastDay);
  const [queues, setQueues] = useState("");
  const [types, setTypes] = useState("");
  const [running, setRunning] = useState<{ events: number } | undefined>();
  const [error, setError] = useState<string>();
  const [result, setResult] = useState<Exported>();
  const abort = useRef<AbortController>(undefined);
  // The object URL holds the whole file: free it when replaced and when the page goes.
  useEffect(() => {
    if (result === undefined) return;
    const url = result.url;
    return () => URL.revokeObjectURL(url);
  }, [result]);
  useEffect(() => () => abort.current?.abort(), []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const from = new Date(range.from);
    const to = new Date(range.to);
    if (!(from < to)) {
      setError("The range is empty: “From” must be before “To”.");
      return;
    }
    setError(undefined);
    setResult(undefined);
    setRunning({ events: 0 });
    abort.current = new AbortController();
    try {
      const query = { range: { startTime: timestampFromDate(from), endTime: timestampFromDate(to) }, queues: listOf(queues), types: listOf(types) };
      const file = await exportFile(api, query, abort.current.signal, (events) => setRunning({ events }));
      setResult({ ...file, fileName: `taskflow-audit-${fileTime(from)}-${fileTime(to)}.ndjson` });
    } catch (err) {
      setError(describeError(err));
    } finally {
      setRunning(undefined);
    }
  };

  return (
    <form className="audit-export" onSubmit={(e) => void submit(e)}>
      <div className="fields">
        <div>
          <label htmlFor="export-from">From</label>
          <input id="export-from" type="datetime-local" step={1} required value={range.from} onChange={(e) => setRange({ ...range, from: e.target.value })} />
        </div>
        <div>
          <label htmlFor="export-to">To</label>
          <input id="export-to" type="datetime-local" step={1} required value={range.to} onChange={(e) => setRange({ ...range, to: e.target.value })} />
        </div>
        <div>
          <label htmlFor="export-queues">Queues</label>
          <input id="export-queues" aria-describedby="export-list-hint" value={queues} onChange={(e) => setQueues(e.target.value)} placeholder="all" />
        </div>
        <div>
          <label htmlFor="export-types">Job types</label>
          <input id="export-types" aria-describedby="export-list-hint" value={types} onChange={(e) => setTypes(e.target.value)} placeholder="all" />
        </div>
      </div>
      <p className="hint" id="export-list-hint">
        Times in your time zone, from included, to excluded. Queues and types: comma-separated, empty for all.
      </p>
      <div className="toolbar">
        <button type="submit" disabled={running !== undefined}>
          Export NDJSON
        </button>
        <span role="status">
          {running !== undefined
            ? `Exporting… ${formatCount(running.events)} events so far`
            : result !== undefined
              ? `${formatCount(result.events)} events exported (${formatCount(result.bytes)} bytes)`
              : ""}
        </span>
      </div>
      {error !== undefined && (
        <p className="notice error" role="alert">
          {error}
        </p>
      )}
      {result !== undefined && (
        <>
          <p>
            <a href={result.url} download={result.fileName} data-events={result.events}>
              Download {result.fileName}
            </a>
          </p>
          {result.preview.length > 0 && (
            <>
              <h3 id="preview-heading">First {result.preview.length === 1 ? "line" : `${result.preview.length} lines`}</h3>
              <pre aria-labelledby="preview-heading" className="preview" tabIndex={0}>
                {result.preview.join("\n")}
              </pre>
            </>
          )}
        </>
      )}
    </form>
  );
}

/**
 * Reads the export's stream into a file (an object URL the caller revokes), reporting the events
 * read so far after each chunk.
 */
async function exportFile(api: Api, query: MessageInitShape<typeof ExportAuditTrailRequestSchema>, signal: AbortSignal, progress: (events: number) => void): Promise<Omit<Exported, "fileName">> {
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let events = 0;
  for await (const chunk of api.history.exportAuditTrail(query, { signal })) {
    chunks.push(new Uint8Array(chunk.ndjson));
    events += chunk.events;
    progress(events);
  }
  const blob = new Blob(chunks, { type: "application/x-ndjson" });
  return { url: URL.createObjectURL(blob), events, bytes: blob.size, preview: await previewOf(blob) };
}

/** The last 24 hours up to the next whole minute, as datetime-local values. */
function lastDay(): { from: string; to: string } {
  const to = Math.ceil(Date.now() / 60_000) * 60_000;
  return { from: localInput(new Date(to - DAY_MS)), to: localInput(new Date(to)) };
}

/** `2026-12-07T16:05:00` in the browser's time zone, as a datetime-local input holds it. */
function localInput(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** `20261207T160500Z`: a UTC time fit for a file name on every system. */
const fileTime = (d: Date): string => d.toISOString().replace(/\.\d{3}/, "").replace(/[-:]/g, "");

const listOf = (text: string): string[] =>
  text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");

/** The first lines of the file (its chunks hold whole lines). */
async function previewOf(blob: Blob): Promise<string[]> {
  const max = 64 * 1024;
  const lines = (await blob.slice(0, max).text()).split("\n");
  if (blob.size > max) lines.pop(); // cut short by the slice
  return lines.slice(0, PREVIEW_LINES).filter((l) => l !== "");
}
