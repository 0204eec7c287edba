import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { HistoryClient, JobEventInit } from "../history-client.js";
import { endsJob, toJobEvent, type OutboxEntry, type ParkedEntry } from "../redis/outbox.js";

/** An outbox entry and the event it records. */
export interface ParsedEvent {
  entry: OutboxEntry;
  event: JobEventInit;
}

/** What history made of a batch of entries. */
export interface AppliedBatch {
  /** Entries history cannot apply (they do not parse, it refused them, or their seq is taken), with why. */
  parked: ParkedEntry[];
  /** Jobs whose terminal event history now holds (or that it does not know): their Redis hashes may expire. */
  ended: string[];
  /** Flows' children whose every parent history now holds terminal (AppendEvents' settled_child_ids). */
  settledChildIds: string[];
}

/** Refusals that a smaller batch can cure or that name the bad entries: invalid, or too large. */
const SPLITTABLE = new Set([Code.InvalidArgument, Code.ResourceExhausted]);

/**
 * Sends the entries' events to history. A batch history refuses as invalid or too large is split
 * in halves, each sent again (history applies events idempotently), until the refused entries
 * stand alone, and those are parked: one bad entry costs about 2·log2(batch) calls, and every
 * good entry lands, in order. Events history reports as clashing (their seq holds another
 * transition) were not recorded and are parked as well, so no transition is dropped silently.
 * @throws whatever else history answers (e.g. unavailable): the batch stays pending.
 */
export async function applyEntries(
  history: HistoryClient,
  entries: readonly OutboxEntry[],
  logger: Logger,
): Promise<AppliedBatch> {
  const { events, parked } = parseEntries(entries);
  const applied = await apply(history, events, logger);
  return { parked: [...parked, ...applied.parked], ended: applied.ended, settledChildIds: applied.settledChildIds };
}

async function apply(history: HistoryClient, events: readonly ParsedEvent[], logger: Logger): Promise<AppliedBatch> {
  if (events.length === 0) return { parked: [], ended: [], settledChildIds: [] };
  try {
    const res = await history.appendEvents(events.map((e) => e.event));
    if (res.unknownJobIds.length > 0) {
      // Retrying cannot help: history will never know these jobs.
      logger.warn({ job_ids: res.unknownJobIds }, "events of unknown jobs dropped");
    }
    const clashing = new Set(res.clashingEvents.map((c) => `${c.jobId}/${c.seq}`));
    const parked: ParkedEntry[] = [];
    const ended: string[] = [];
    for (const e of events) {
      if (clashing.has(`${String(e.event.jobId)}/${String(e.event.seq)}`)) {
        parked.push({ entry: e.entry, error: `seq ${String(e.event.seq)} of job ${String(e.event.jobId)} is held by another transition` });
      } else if (endsJob(e.entry)) {
        ended.push(String(e.event.jobId));
      }
    }
    return { parked, ended, settledChildIds: res.settledChildIds };
  } catch (err) {
    if (!(err instanceof ConnectError && SPLITTABLE.has(err.code))) throw err;
    if (events.length === 1) return { parked: [{ entry: events[0]!.entry, error: err.rawMessage }], ended: [], settledChildIds: [] };
    const half = Math.ceil(events.length / 2);
    const left = await apply(history, events.slice(0, half), logger);
    const right = await apply(history, events.slice(half), logger);
    return {
      parked: [...left.parked, ...right.parked],
      ended: [...left.ended, ...right.ended],
      settledChildIds: [...left.settledChildIds, ...right.settledChildIds],
    };
  }
}

/** Splits entries into events to send and entries that do not parse; entries deleted while pending are neither. */
function parseEntries(entries: readonly OutboxEntry[]): { events: ParsedEvent[]; parked: ParkedEntry[] } {
  const events: ParsedEvent[] = [];
  const parked: ParkedEntry[] = [];
  for (const entry of entries) {
    if (entry.fields === undefined) continue;
    try {
      events.push({ entry, event: toJobEvent(entry.fields) });
    } catch (err) {
      parked.push({ entry, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return { events, parked };
}
