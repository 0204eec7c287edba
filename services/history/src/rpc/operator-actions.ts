import type { JsonObject, MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { HistoryIngestService, HistoryService, OperatorAction, OperatorActionSchema } from "@taskflow/proto";
import {
  latestQueueControls,
  listOperatorActions as readActions,
  recordOperatorActions as storeActions,
  type OperatorActionInput,
  type OperatorActionRow,
} from "../db/queries/operator-actions.js";
import { invalidArgument } from "../errors.js";
import type { HistoryDeps } from "./deps.js";
import { pageSize } from "./validate.js";

/** Most actions one RecordOperatorActions call takes. */
export const MAX_RECORDED_ACTIONS = 100;
/** Longest actor, action and target, in characters. */
const MAX_TEXT = 256;
/** Largest details of one action, as JSON, in bytes. */
const MAX_DETAILS_BYTES = 16 * 1024;
export const LIST_ACTIONS_DEFAULT_PAGE_SIZE = 100;
export const LIST_ACTIONS_MAX_PAGE_SIZE = 500;

const isActionCursor = (after: unknown): after is string => typeof after === "string" && /^[1-9][0-9]{0,18}$/.test(after);

/**
 * RecordOperatorActions: stores what an operator did, in one statement, before the scheduler
 * carries it out. InvalidArgument, storing nothing, for an empty actor, action or target, text
 * past 256 characters, details past 16 KiB, or more than 100 actions.
 */
export const recordOperatorActions =
  (d: HistoryDeps): ServiceImpl<typeof HistoryIngestService>["recordOperatorActions"] =>
  async (req) => {
    if (req.actions.length === 0 || req.actions.length > MAX_RECORDED_ACTIONS) {
      throw invalidArgument(`actions: must hold 1 to ${MAX_RECORDED_ACTIONS} actions`);
    }
    const stored = await storeActions(d.db, req.actions.map((a, i) => parseAction(a, i)));
    return { actions: stored.map(toProto) };
  };

/** ListOperatorActions: newest first, optionally of one target and kind, from the replica. */
export const listOperatorActions =
  (d: HistoryDeps): ServiceImpl<typeof HistoryService>["listOperatorActions"] =>
  async (req) => {
    const size = pageSize(req.pageSize, LIST_ACTIONS_DEFAULT_PAGE_SIZE, LIST_ACTIONS_MAX_PAGE_SIZE);
    const scope = `operator-actions:${JSON.stringify([req.target, req.action])}`;
    const rows = await readActions(d.readDb, {
      beforeId: d.pageTokens.decode(req.pageToken, scope, isActionCursor),
      limit: size + 1,
      target: req.target,
      action: req.action,
    });
    const page = d.pageTokens.pageOf(rows, size, scope, (last) => last.id);
    return { actions: page.items.map(toProto), nextPageToken: page.next };
  };

/** ListQueueControls: the trail's latest pause and limits per queue and job type, from the primary. */
export const listQueueControls =
  (d: HistoryDeps): ServiceImpl<typeof HistoryIngestService>["listQueueControls"] =>
  async () => ({ actions: (await latestQueueControls(d.db)).map(toProto) });

/**
 * An action of a request as one to store; `at` names it in errors (default `actions[i]`).
 * @throws {ConnectError} InvalidArgument for an empty or too long actor, action or target, or details past 16 KiB.
 */
export function parseAction(a: Pick<OperatorAction, "actor" | "action" | "target" | "details">, i: number, at = `actions[${i}]`): OperatorActionInput {
  for (const [field, value] of [["actor", a.actor], ["action", a.action], ["target", a.target]] as const) {
    if (value === "" || value.length > MAX_TEXT) throw invalidArgument(`${at}.${field}: must be 1 to ${MAX_TEXT} characters`);
  }
  const details: JsonObject = a.details ?? {};
  const json = JSON.stringify(details);
  if (Buffer.byteLength(json, "utf8") > MAX_DETAILS_BYTES) throw invalidArgument(`${at}.details: must be at most ${MAX_DETAILS_BYTES} bytes as JSON`);
  return { actor: a.actor, action: a.action, target: a.target, details: JSON.parse(json) as Record<string, unknown> };
}

function toProto(r: OperatorActionRow): MessageInitShape<typeof OperatorActionSchema> {
  return { id: BigInt(r.id), at: timestampFromDate(r.at), actor: r.actor, action: r.action, target: r.target, details: r.details as JsonObject };
}
