import { type JsonObject, type MessageInitShape, toJson } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  type ExportAuditTrailRequest,
  ExportAuditTrailRequestSchema,
  type ExportAuditTrailResponseSchema,
  type HistoryService,
  JobEventSchema,
} from "@taskflow/proto";
import { type AuditEventRow, type AuditTrailQuery, readAuditTrail } from "../db/queries/export-audit-trail.js";
import { invalidArgument } from "../errors.js";
import { eventToProto } from "../mapping/to-proto.js";
import type { HistoryDeps } from "./deps.js";
import { messageProblem } from "./text-guard.js";
import { requireBoundedRange } from "./time-range.js";

type Chunk = MessageInitShape<typeof ExportAuditTrailResponseSchema>;

/** Sizes of an export; the defaults keep a chunk near 1 MiB and one page in memory. */
export interface ExportOptions {
  /** Events read per statement. */
  batchSize: number;
  /** Most lines in one response message. */
  chunkMaxEvents: number;
  /** Most bytes in one response message, unless a single line is larger. */
  chunkMaxBytes: number;
}

export const EXPORT_DEFAULTS: ExportOptions = Object.freeze({
  batchSize: 1_000,
  chunkMaxEvents: 1_000,
  chunkMaxBytes: 1024 * 1024,
});

/**
 * Checks an ExportAuditTrail request. The text guard passes streaming calls unchecked, so
 * the filters are checked for text PostgreSQL cannot hold here.
 * @throws {ConnectError} InvalidArgument naming the field: a range missing or out of order, or
 *   a filter value holding NUL or a lone surrogate.
 */
export function parseExportRequest(req: ExportAuditTrailRequest): AuditTrailQuery {
  const problem = messageProblem(ExportAuditTrailRequestSchema, req, "");
  if (problem !== undefined) throw invalidArgument(problem);
  const { start, end } = requireBoundedRange(req.range, "range");
  return { start, end, types: req.types, queues: req.queues };
}

/** One NDJSON line: the JobEvent in canonical proto3 JSON, plus its job's type and queue. */
export function auditLine(row: AuditEventRow): string {
  const event = toJson(JobEventSchema, eventToProto(row)) as JsonObject;
  return `${JSON.stringify({ ...event, jobType: row.job_type ?? "", jobQueue: row.job_queue ?? "" })}\n`;
}

/**
 * Gathers whole lines into chunks of at most `maxEvents` lines and `maxBytes` bytes (a line
 * larger than `maxBytes` makes a chunk of its own). A chunk closes as soon as it is full, so
 * it goes out before the next page is read.
 */
export class NdjsonChunker {
  private lines: string[] = [];
  private bytes = 0;

  constructor(
    private readonly maxEvents: number,
    private readonly maxBytes: number,
  ) {}

  /** Adds a line; returns the chunks it closed (none, one, or two when the line is oversized). */
  add(line: string): Chunk[] {
    const closed: Chunk[] = [];
    const size = Buffer.byteLength(line);
    if (this.lines.length > 0 && this.bytes + size > this.maxBytes) closed.push(this.take());
    this.lines.push(line);
    this.bytes += size;
    if (this.lines.length >= this.maxEvents || this.bytes >= this.maxBytes) closed.push(this.take());
    return closed;
  }

  /** The lines gathered so far as a chunk, or undefined when there are none. */
  flush(): Chunk | undefined {
    return this.lines.length === 0 ? undefined : this.take();
  }

  private take(): Chunk {
    const chunk = { ndjson: Buffer.from(this.lines.join("")), events: this.lines.length };
    this.lines = [];
    this.bytes = 0;
    return chunk;
  }
}

/**
 * ExportAuditTrail: every event whose occurred_at is in the range, oldest first, as NDJSON in
 * chunks of whole lines, read from the replica page by page. A chunk goes out as soon as it
 * is full, so memory holds one page and one chunk whatever the range; once the client goes,
 * the walk stops before its next statement. InvalidArgument for a bad range or filter.
 */
export const exportAuditTrail = (
  d: HistoryDeps,
  options: Partial<ExportOptions> = {},
): ServiceImpl<typeof HistoryService>["exportAuditTrail"] => {
  const o = { ...EXPORT_DEFAULTS, ...options };
  return async function* (req, ctx) {
    const q = parseExportRequest(req);
    const chunks = new NdjsonChunker(o.chunkMaxEvents, o.chunkMaxBytes);
    for await (const rows of readAuditTrail(d.readDb, q, { batchSize: o.batchSize, signal: ctx.signal })) {
      for (const row of rows) yield* chunks.add(auditLine(row));
    }
    const last = chunks.flush();
    if (last !== undefined) yield last;
  };
};
