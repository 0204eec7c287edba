import type { ServiceImpl } from "@connectrpc/connect";
import type { AdminService } from "@taskflow/proto";
import type { Deps } from "../deps.js";
import { invalidArgument } from "../errors.js";
import { checkQueues } from "../validate.js";
import { isEntryId, toParkedEvent } from "./parked-event.js";

export const PARKED_DEFAULT_PAGE_SIZE = 100;
export const PARKED_MAX_PAGE_SIZE = 1_000;

/**
 * ListParkedEvents: a queue's parked outbox entries, oldest first, a page at a time; the page
 * token is the last entry's id.
 * @throws invalid_argument for a bad queue, page size or page token.
 */
export const listParkedEvents =
  (d: Deps): ServiceImpl<typeof AdminService>["listParkedEvents"] =>
  async (req) => {
    checkQueues([req.queue], "queue");
    const size = req.pageSize === 0 ? PARKED_DEFAULT_PAGE_SIZE : req.pageSize;
    if (size < 1 || size > PARKED_MAX_PAGE_SIZE) throw invalidArgument("page_size", `must be from 1 to ${PARKED_MAX_PAGE_SIZE}`);
    const after = req.pageToken === "" ? "" : Buffer.from(req.pageToken, "base64url").toString("utf8");
    if (req.pageToken !== "" && !isEntryId(after)) throw invalidArgument("page_token", "must be a token this list issued");
    const records = await d.parked.list(req.queue, after, size + 1);
    const page = records.slice(0, size);
    const next = records.length > size ? Buffer.from(page.at(-1)!.entryId, "utf8").toString("base64url") : "";
    return { events: page.map(toParkedEvent), nextPageToken: next };
  };
