import type { Logger } from "pino";
import type { JobWatchHub } from "./job-notifications.js";
import { getWatchedJobs, WATCHED_JOBS_PER_READ } from "./queries/get-watched-jobs.js";
import type { Queryable } from "./queryable.js";
import type { JobRow } from "./rows.js";

/** Why a subscription ended: its reader fell behind, or notifications were lost. */
export type FeedEnd = "behind" | "lost";

/** One WatchJobs stream, as the feed sees it. */
export interface FeedSubscriber {
  /** Jobs as they are now, after a change; the subscriber filters and buffers them. */
  deliver(jobs: readonly JobRow[]): void;
  /** The feed stopped: notifications were lost (a broken connection, a failed read). */
  end(why: FeedEnd): void;
}

/** Ids waiting to be read at most; past it the feed has fallen behind and its subscribers resync. */
export const MAX_FEED_PENDING_IDS = 100_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * One process's source for WatchJobs: it follows the job notifications of every replica (see
 * {@link JobWatchHub.follow}) while at least one stream is open, reads the changed jobs once per
 * batch of notifications (ids that arrive during a read wait for the next one, so a burst
 * becomes a few reads), and hands each read to every subscriber. Many watchers thus cost one
 * read per batch of changes, not one each.
 */
export class JobFeed {
  private readonly subscribers = new Set<FeedSubscriber>();
  private following: Promise<() => void> | undefined;
  private pending = new Set<string>();
  private reading = false;
  /** Numbers the follows, so that a follower from before an unfollow is ignored. */
  private generation = 0;

  constructor(
    private readonly hub: Pick<JobWatchHub, "follow">,
    private readonly db: Queryable,
    private readonly logger: Logger,
  ) {}

  /**
   * Adds a subscriber; resolves once notifications are followed (changes committed after that
   * reach it), to the function that removes it.
   * @throws when the notification connection cannot be opened.
   */
  async subscribe(s: FeedSubscriber): Promise<() => void> {
    this.subscribers.add(s);
    const remove = (): void => {
      this.subscribers.delete(s);
      if (this.subscribers.size === 0) void this.unfollow();
    };
    try {
      this.following ??= this.follow();
      await this.following;
    } catch (err) {
      this.following = undefined;
      remove();
      throw err;
    }
    return remove;
  }

  /** Follows the hub under a follower of its own, which falls silent once it is not the current one. */
  private follow(): Promise<() => void> {
    const generation = ++this.generation;
    const current = (): boolean => generation === this.generation;
    return this.hub.follow({
      changed: (ids) => current() && this.changed(ids),
      lost: () => current() && this.endAll("lost"),
    });
  }

  private changed(jobIds: readonly string[]): void {
    for (const id of jobIds) if (UUID.test(id)) this.pending.add(id.toLowerCase());
    if (this.pending.size > MAX_FEED_PENDING_IDS) return this.endAll("behind");
    if (!this.reading) void this.read();
  }

  /** Reads pending ids in batches until none wait, and hands each batch to every subscriber. */
  private async read(): Promise<void> {
    this.reading = true;
    try {
      while (this.pending.size > 0 && this.subscribers.size > 0) {
        const ids = [...this.pending].slice(0, WATCHED_JOBS_PER_READ);
        for (const id of ids) this.pending.delete(id);
        const rows = await getWatchedJobs(this.db, ids);
        for (const s of [...this.subscribers]) s.deliver(rows);
      }
    } catch (err) {
      this.logger.warn({ err }, "watched jobs not read; watchers resync");
      this.endAll("lost");
    } finally {
      this.reading = false;
    }
  }

  /** Ends every subscription and stops following: the next subscriber starts afresh. */
  private endAll(why: FeedEnd): void {
    const subscribers = [...this.subscribers];
    this.subscribers.clear();
    this.pending = new Set();
    void this.unfollow();
    for (const s of subscribers) s.end(why);
  }

  private async unfollow(): Promise<void> {
    const following = this.following;
    this.following = undefined;
    this.generation += 1;
    this.pending = new Set();
    const stop = await following?.catch(() => undefined);
    stop?.();
  }
}
