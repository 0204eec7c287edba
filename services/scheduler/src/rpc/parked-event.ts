import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ParkedEventSchema } from "@taskflow/proto";
import type { ParkedRecord } from "../redis/parked-events.js";

const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

/** Whether `id` has the shape of a Redis stream entry id (`<ms>-<n>`). */
export const isEntryId = (id: string): boolean => STREAM_ID.test(id);

/** A parked record as the admin API shows it. */
export function toParkedEvent(r: ParkedRecord): MessageInitShape<typeof ParkedEventSchema> {
  const f = r.fields;
  return {
    entryId: r.entryId,
    queue: r.queue,
    jobId: f.job ?? "",
    seq: Number.isInteger(Number(f.seq)) ? Number(f.seq) : 0,
    eventType: (f.type ?? "").toUpperCase(),
    status: (f.status ?? "").toUpperCase(),
    error: r.error,
    // A stream id starts with the ms it was added: when the entry was parked.
    parkedAt: timestampFromMs(Number(r.entryId.split("-")[0])),
    fields: f,
  };
}
