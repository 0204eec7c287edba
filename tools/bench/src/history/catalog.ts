import { WeightedTable, zipfWeights } from "./random.js";

/**
 * What the bench's jobs are made of: types, queues, regions, error messages and workers, with
 * the weights that give the mix the history service meets in production (a few frequent
 * types and errors, a long tail of rare ones).
 */

/** One job type: the queue it runs on and the median of its run time. */
export interface JobTypeSpec {
  name: string;
  queue: string;
  medianRunMs: number;
}

/** The five queues, each served by its own workers. */
export const QUEUES = ["notifications", "default", "billing", "reports", "media"] as const;

/** The twenty job types, most frequent first (Zipf weights). */
export const JOB_TYPES: readonly JobTypeSpec[] = [
  { name: "notification.email", queue: "notifications", medianRunMs: 250 },
  { name: "webhook.deliver", queue: "default", medianRunMs: 150 },
  { name: "notification.push", queue: "notifications", medianRunMs: 80 },
  { name: "payment.capture", queue: "billing", medianRunMs: 700 },
  { name: "image.thumbnail", queue: "media", medianRunMs: 400 },
  { name: "user.sync", queue: "default", medianRunMs: 120 },
  { name: "notification.sms", queue: "notifications", medianRunMs: 400 },
  { name: "invoice.generate", queue: "billing", medianRunMs: 1_500 },
  { name: "cache.warm", queue: "default", medianRunMs: 60 },
  { name: "image.resize", queue: "media", medianRunMs: 1_200 },
  { name: "subscription.renew", queue: "billing", medianRunMs: 500 },
  { name: "analytics.rollup", queue: "reports", medianRunMs: 3_000 },
  { name: "search.reindex", queue: "default", medianRunMs: 900 },
  { name: "payment.refund", queue: "billing", medianRunMs: 800 },
  { name: "report.export", queue: "reports", medianRunMs: 8_000 },
  { name: "document.ocr", queue: "media", medianRunMs: 5_000 },
  { name: "ledger.reconcile", queue: "billing", medianRunMs: 4_000 },
  { name: "audit.archive", queue: "reports", medianRunMs: 6_000 },
  { name: "report.daily", queue: "reports", medianRunMs: 15_000 },
  { name: "video.transcode", queue: "media", medianRunMs: 45_000 },
];

export const JOB_TYPE_TABLE = new WeightedTable(JOB_TYPES, zipfWeights(JOB_TYPES.length));

/** Regions of customers; a customer always has the same one. */
export const REGIONS = ["us-east", "eu-west", "us-west", "eu-central", "ap-south", "ap-northeast", "sa-east", "af-south"] as const;

/** Mail domains of customers' addresses. */
export const MAIL_DOMAINS = ["example.com", "example.org", "example.net", "mail.test"] as const;

/** Customer ids run from 1 to this. */
export const CUSTOMERS = 50_000;
/** Customers 1..BIG_CUSTOMERS send {@link BIG_CUSTOMER_SHARE} of the jobs. */
export const BIG_CUSTOMERS = 500;
export const BIG_CUSTOMER_SHARE = 0.2;

/** Error messages of failed attempts, most frequent first. */
export const ERRORS = [
  "connection timed out after 30000 ms",
  "upstream returned 503 service unavailable",
  "rate limited by provider (429)",
  "card declined by issuer",
  "recipient address rejected",
  "deadlock detected while updating ledger",
  "insufficient funds",
  "payload validation failed: missing field amount",
  "object not found in storage bucket",
  "tls handshake failed",
  "dns lookup failed for api host",
  "worker ran out of memory",
  "duplicate key value violates unique constraint",
  "permission denied for resource",
  "unsupported media format",
  "ffmpeg exited with code 1",
  "ocr engine returned no text",
  "recipient mailbox full",
  "webhook endpoint returned 410 gone",
  "currency mismatch between invoice and payment",
  "account suspended",
  "report query canceled after 300 s",
  "disk quota exceeded",
  "malformed json in response body",
  "certificate expired",
  "too many redirects",
  "storage upload failed: slow down",
  "stale subscription state",
  "unexpected end of input",
  "socket hang up",
] as const;

/** A few errors make up most failures: Zipf weights with a steeper slope than types. */
export const ERROR_TABLE = new WeightedTable(ERRORS, zipfWeights(ERRORS.length, 1.3));

/** Workers per queue; workers serve one queue and every type of it. */
export const WORKERS_PER_QUEUE = 10;

/** Health a bench worker is left in: gone workers deregistered mid-way, stale ones went silent. */
export type WorkerFate = "healthy" | "stale" | "gone";

/** One of the bench's workers. */
export interface WorkerSpec {
  id: string;
  queue: string;
  jobTypes: string[];
  hostname: string;
  concurrency: number;
  fate: WorkerFate;
}

/**
 * The 50 workers, ten per queue: in each queue the last one deregistered part-way through the
 * data (gone), and in three queues one more went silent a minute before the load (stale).
 */
export const WORKERS: readonly WorkerSpec[] = QUEUES.flatMap((queue, q) =>
  Array.from({ length: WORKERS_PER_QUEUE }, (_, n): WorkerSpec => {
    const fate: WorkerFate = n === WORKERS_PER_QUEUE - 1 ? "gone" : n === WORKERS_PER_QUEUE - 2 && q < 3 ? "stale" : "healthy";
    return {
      id: `wk-${queue}-${String(n + 1).padStart(2, "0")}`,
      queue,
      jobTypes: JOB_TYPES.filter((t) => t.queue === queue).map((t) => t.name),
      hostname: `node-${String((q * WORKERS_PER_QUEUE + n) % 17).padStart(2, "0")}`,
      concurrency: 8 * (1 + (n % 4)),
      fate,
    };
  }),
);
