import { putStored } from "../schedules/schedule-records.js";
import type { ReconcileRun } from "./reconcile-run.js";

/** Schedules read from history per call. */
const SCHEDULE_PAGE = 500;

/**
 * Makes Redis's firing state agree with the schedules history holds: every schedule is written
 * where Redis lacks it or holds an older version (after a loss, with the next tick history last
 * recorded, so the ticks missed meanwhile are caught up as the schedule allows), and a schedule
 * Redis fires that history no longer holds is dropped. Redis is read before history, so a
 * schedule created meanwhile (history first, then Redis) is never taken for a deleted one; a
 * drop names the version Redis held, so one created again since survives it.
 * @returns how many schedules were written or dropped.
 */
export async function syncSchedules(run: ReconcileRun): Promise<number> {
  const store = run.schedules;
  if (store === undefined || run.dryRun) return 0;
  const firing = await store.dueIds();
  const known = new Set<string>();
  let changed = 0;
  for (let after = ""; ; ) {
    run.signal.throwIfAborted();
    const page = await run.history.readSchedulesPage(after, SCHEDULE_PAGE, run.signal);
    for (const s of page) {
      known.add(s.id);
      if (await putStored(store, s)) changed += 1;
    }
    if (page.length < SCHEDULE_PAGE) break;
    after = page[page.length - 1]!.id;
  }
  const gone = firing.filter((id) => !known.has(id));
  const states = await store.read(gone);
  for (const state of states) {
    if (state !== undefined && (await store.drop(state.id, state.version))) changed += 1;
  }
  if (changed > 0) run.logger.info({ schedules: changed }, "schedules reconciled");
  return changed;
}
