import type { ServiceImpl } from "@connectrpc/connect";
import type { AdminService } from "@taskflow/proto";
import type { Deps } from "../deps.js";
import { invalidArgument } from "../errors.js";
import { applyEntries } from "../loops/apply-events.js";
import { asOutboxEntry, type ParkedRecord } from "../redis/parked-events.js";
import { checkQueues } from "../validate.js";
import { isEntryId, toParkedEvent } from "./parked-event.js";

/** Most entries one replay sends. */
export const MAX_REPLAY = 1_000;

/**
 * ReplayParkedEvents: sends parked entries of one queue to history again (the named ones, or the
 * oldest 1,000), in their order. Those history records (or already holds) leave the parked list,
 * and their jobs' hashes get their expiry when the entry ended the job; those it refuses again
 * stay parked with the new error.
 * @throws invalid_argument for a bad queue or entry id; unavailable when history or Redis fails
 *   (nothing changed).
 */
export const replayParkedEvents =
  (d: Deps): ServiceImpl<typeof AdminService>["replayParkedEvents"] =>
  async (req) => {
    checkQueues([req.queue], "queue");
    if (req.entryIds.length > MAX_REPLAY) throw invalidArgument("entry_ids", `must name at most ${MAX_REPLAY} entries`);
    req.entryIds.forEach((id, i) => {
      if (!isEntryId(id)) throw invalidArgument(`entry_ids[${i}]`, "must be a parked entry id");
    });
    const { records, notFound } = await pick(d, req.queue, req.entryIds);
    const applied = await applyEntries(d.history, records.map(asOutboxEntry), d.logger.child({ queue: req.queue }));
    const refusedIds = new Map(applied.parked.map((p) => [p.entry.id, p.error]));
    const replayed = records.filter((r) => !refusedIds.has(r.entryId));
    const refused = records.filter((r) => refusedIds.has(r.entryId)).map((record) => ({ record, error: refusedIds.get(record.entryId)! }));
    const stillParked = await d.parked.settle(req.queue, { replayed, refused, ended: applied.ended });
    d.logger.info({ queue: req.queue, replayed: replayed.length, still_parked: stillParked.length }, "parked events replayed");
    return { replayed: replayed.length, stillParked: stillParked.map(toParkedEvent), notFound };
  };

async function pick(d: Deps, queue: string, ids: readonly string[]): Promise<{ records: ParkedRecord[]; notFound: string[] }> {
  if (ids.length === 0) return { records: await d.parked.list(queue, "", MAX_REPLAY), notFound: [] };
  const found = await d.parked.get(queue, ids);
  return {
    records: found.filter((r): r is ParkedRecord => r !== undefined),
    notFound: ids.filter((_, i) => found[i] === undefined),
  };
}
