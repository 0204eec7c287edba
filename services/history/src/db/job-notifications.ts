import pg from "pg";
import type { Logger } from "pino";
import type { Queryable } from "./queryable.js";

/** The PostgreSQL channel on which history announces the jobs whose trails grew or whose progress changed. */
export const JOB_EVENTS_CHANNEL = "taskflow_job_events";
/** Job ids per notification: a payload holds at most 8,000 bytes, an id 36 characters and a comma. */
const IDS_PER_NOTIFICATION = 200;

/**
 * Announces that events of `jobIds` were recorded, to every history replica listening (see
 * {@link JobWatchHub}); one statement, after the events' own commit.
 */
export async function notifyJobEvents(db: Queryable, jobIds: readonly string[]): Promise<void> {
  const unique = [...new Set(jobIds)];
  if (unique.length === 0) return;
  const payloads: string[] = [];
  for (let i = 0; i < unique.length; i += IDS_PER_NOTIFICATION) payloads.push(unique.slice(i, i + IDS_PER_NOTIFICATION).join(","));
  await db.query({
    name: "history_notify_job_events",
    text: "SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload",
    values: [JOB_EVENTS_CHANNEL, payloads],
  });
}

/** Hears of every job that changed (see {@link JobWatchHub.follow}). */
export interface JobsFollower {
  /** Ids of jobs that changed, as one notification named them. */
  changed(jobIds: readonly string[]): void;
  /** Notifications may have been lost; nothing more is heard. */
  lost(): void;
}

/**
 * Wakes WatchJob streams when their job's trail grows, on whichever replica recorded it: one
 * connection per history process LISTENs on {@link JOB_EVENTS_CHANNEL}, opened with the first
 * watch and kept. When it breaks, every watcher is woken (it reads again and misses nothing) and
 * the next watch opens it again.
 */
export class JobWatchHub {
  private listening: Promise<pg.Client> | undefined;
  private readonly watchers = new Map<string, Set<() => void>>();
  private readonly followers = new Set<JobsFollower>();
  private closed = false;

  constructor(
    private readonly databaseUrl: string,
    private readonly logger: Logger,
  ) {}

  /**
   * Calls `wake` each time events of `jobId` are recorded, until the returned function is
   * called. @throws when the listening connection cannot be opened (the watcher then relies on
   * its own rechecks).
   */
  watch(jobId: string, wake: () => void): Promise<() => void> {
    let set = this.watchers.get(jobId);
    if (set === undefined) this.watchers.set(jobId, (set = new Set()));
    set.add(wake);
    return this.listenUntil(() => {
      set.delete(wake);
      if (set.size === 0 && this.watchers.get(jobId) === set) this.watchers.delete(jobId);
    });
  }

  /**
   * Tells `follower` of every job whose trail grew or whose progress changed, on any replica,
   * until the returned function is called; and, instead, once, when notifications may have been
   * lost (the listening connection broke), after which it hears nothing more.
   * @throws when the listening connection cannot be opened.
   */
  follow(follower: JobsFollower): Promise<() => void> {
    this.followers.add(follower);
    return this.listenUntil(() => void this.followers.delete(follower));
  }

  /** Opens the listening connection (if needed) for a subscription `stop` ends; stops it when the connection fails to open. */
  private async listenUntil(stop: () => void): Promise<() => void> {
    try {
      await this.listen();
    } catch (err) {
      stop();
      throw err;
    }
    return stop;
  }

  async close(): Promise<void> {
    this.closed = true;
    const followers = [...this.followers];
    this.followers.clear();
    for (const f of followers) f.lost();
    const client = await this.listening?.catch(() => undefined);
    this.listening = undefined;
    await client?.end().catch(() => undefined);
  }

  private listen(): Promise<pg.Client> {
    if (this.closed) return Promise.reject(new Error("history is stopping"));
    this.listening ??= (async () => {
      const client = new pg.Client({ connectionString: this.databaseUrl, application_name: "taskflow-history-watch" });
      client.on("notification", (n) => {
        const ids = (n.payload ?? "").split(",");
        for (const id of ids) for (const wake of this.watchers.get(id) ?? []) wake();
        for (const f of this.followers) f.changed(ids);
      });
      client.on("error", (err) => {
        this.logger.warn({ err }, "job watch connection failed; watchers read again");
        this.listening = undefined;
        void client.end().catch(() => undefined);
        for (const set of this.watchers.values()) for (const wake of set) wake();
        const followers = [...this.followers];
        this.followers.clear();
        for (const f of followers) f.lost();
      });
      try {
        await client.connect();
        await client.query(`LISTEN ${JOB_EVENTS_CHANNEL}`);
      } catch (err) {
        this.listening = undefined;
        await client.end().catch(() => undefined);
        throw err;
      }
      return client;
    })();
    return this.listening;
  }
}
