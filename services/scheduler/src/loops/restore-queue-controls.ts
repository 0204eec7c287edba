import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { OperatorAction } from "@taskflow/proto";
import type { QueueControls, QueueLimits } from "../redis/queue-store.js";
import type { ReconcileRun } from "./reconcile-run.js";

/** What the trail says of one queue: its pause, if the newest of its pauses and resumes is a pause, and its limits set. */
interface TrailControls {
  pause: QueueControls["pause"];
  limits: { type: string; limits: QueueLimits }[];
}

/**
 * Applies again the pauses and limits the operators' trail holds (history's ListQueueControls),
 * after Redis lost its data: a restore runs this before it brings the jobs back, so a queue
 * paused or limited before the loss holds its restored jobs as it did. A control set since the
 * loss is kept (see QueueStore.restoreControls).
 * @returns the queues given back a pause or limits.
 */
export async function restoreQueueControls(run: ReconcileRun): Promise<number> {
  const byQueue = controlsOf(await run.history.listQueueControls(run.signal));
  for (const [queue, c] of byQueue) await run.store.restoreControls(queue, c.pause, c.limits);
  if (byQueue.size > 0) run.logger.info({ queues: [...byQueue.keys()] }, "queue pauses and limits restored from the operators' trail");
  return byQueue.size;
}

/** The pauses and non-zero limits among the trail's newest actions, per queue. */
export function controlsOf(actions: readonly OperatorAction[]): Map<string, TrailControls> {
  const out = new Map<string, TrailControls>();
  const of = (queue: string): TrailControls => {
    let c = out.get(queue);
    if (c === undefined) out.set(queue, (c = { pause: undefined, limits: [] }));
    return c;
  };
  for (const a of actions) {
    if (a.action === "queue.pause") {
      of(a.target).pause = { atMs: a.at === undefined ? 0 : timestampMs(a.at), actor: a.actor };
    } else if (a.action === "queue.limits") {
      const d = a.details ?? {};
      const limits = { maxRunning: Number(d.maxRunning ?? 0), maxStarts: Number(d.maxStarts ?? 0), perMs: Number(d.perMs ?? 0) };
      if (limits.maxRunning > 0 || limits.maxStarts > 0) of(a.target).limits.push({ type: typeof d.type === "string" ? d.type : "", limits });
    }
  }
  return out;
}
