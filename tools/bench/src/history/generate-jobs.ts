import {
  BIG_CUSTOMER_SHARE,
  BIG_CUSTOMERS,
  CUSTOMERS,
  JOB_TYPE_TABLE,
  MAIL_DOMAINS,
  REGIONS,
} from "./catalog.js";
import { drawOutcome, type GeneratedEvent, type JobStatusText, type Outcome, RECENT_SHARE, RUNNING_WINDOW } from "./job-outcome.js";
import { hex32, Random, WeightedTable, zipfWeights } from "./random.js";
import { VOCABULARY } from "./vocabulary.js";

export { type GeneratedEvent, type JobStatusText, RECENT_SHARE, UNFINISHED_IN_RECENT } from "./job-outcome.js";

export const DAY_MS = 86_400_000;

/**
 * Jobs generated from one seeded sequence. Each block restarts the generator from
 * (seed, block number), so any range of jobs can be generated alone, in any order or in
 * parallel, and still equal the same range of a single pass.
 */
export const BLOCK_SIZE = 4_096;

/** What to load: `jobs` jobs created over the `days` days that end at `endMs`. */
export interface LoadPlan {
  seed: number;
  jobs: number;
  days: number;
  /** End of the creation span, Unix milliseconds (exclusive). */
  endMs: number;
}

/** The time frame of a plan. */
export interface Timeline {
  startMs: number;
  endMs: number;
  /** Milliseconds between consecutive jobs' slots, at least 1 so ids strictly ascend. */
  spacingMs: number;
  /** When the workers that end up gone deregistered: 60 % of the way through. */
  retireMs: number;
  /** Index of the first job among the newest {@link RECENT_SHARE}. */
  recentFrom: number;
  /**
   * Index of the first job that may still be running: only the newest {@link RUNNING_WINDOW}
   * jobs, so the running ones stay within the workers' concurrency; older unfinished jobs wait.
   */
  runningFrom: number;
}

/**
 * The time frame of `plan`.
 * @throws Error when the plan asks for more than one job per millisecond (ids would tie).
 */
export function timeline(plan: LoadPlan): Timeline {
  const spanMs = plan.days * DAY_MS;
  if (!(plan.jobs >= 1) || !(spanMs >= plan.jobs)) throw new Error("a plan needs 1 to (days * 86,400,000) jobs");
  const startMs = plan.endMs - spanMs;
  return {
    startMs,
    endMs: plan.endMs,
    spacingMs: spanMs / plan.jobs,
    retireMs: startMs + Math.floor(spanMs * 0.6),
    recentFrom: Math.floor(plan.jobs * (1 - RECENT_SHARE)),
    runningFrom: Math.max(0, plan.jobs - RUNNING_WINDOW),
  };
}

/** One job as the jobs table stores it, with its audit trail. Times are Unix milliseconds. */
export interface GeneratedJob {
  index: number;
  id: string;
  type: string;
  queue: string;
  payload: JobPayload;
  status: JobStatusText;
  result: string | null;
  error: string | null;
  errorSeq: number | null;
  attempts: number;
  maxAttempts: number;
  priority: number;
  timeoutMs: number | null;
  idempotencyKey: string | null;
  lastSeq: number;
  createdMs: number;
  updatedMs: number;
  scheduledMs: number;
  startedMs: number | null;
  completedMs: number | null;
  workerId: string | null;
  events: GeneratedEvent[];
}

/** The payload every bench job carries. */
export interface JobPayload {
  customer_id: number;
  email: string;
  amount: number;
  region: string;
  note: string;
}

const WORD_TABLE = new WeightedTable(VOCABULARY, zipfWeights(VOCABULARY.length));
const TIMEOUTS_MS = [30_000, 60_000, 300_000];

/**
 * Jobs `from` to `to - 1` of `plan`, oldest first, each created in its own slot of the time
 * frame, so ids (UUIDv7 of the creation millisecond) strictly ascend. Streams: nothing but
 * the current job is held.
 */
export function* generateJobs(plan: LoadPlan, from = 0, to = plan.jobs): Generator<GeneratedJob> {
  const tl = timeline(plan);
  const end = Math.min(to, plan.jobs);
  for (let block = Math.floor(from / BLOCK_SIZE); block * BLOCK_SIZE < end; block++) {
    const rng = new Random(plan.seed, block);
    const last = Math.min(end, (block + 1) * BLOCK_SIZE);
    for (let index = block * BLOCK_SIZE; index < last; index++) {
      const job = generateJob(rng, tl, index);
      if (index >= from) yield job;
    }
  }
}

function generateJob(rng: Random, tl: Timeline, index: number): GeneratedJob {
  const slot = tl.startMs + Math.floor(index * tl.spacingMs);
  const nextSlot = tl.startMs + Math.floor((index + 1) * tl.spacingMs);
  const createdMs = slot + Math.floor(rng.next() * (nextSlot - slot));
  const spec = JOB_TYPE_TABLE.draw(rng);
  const payload = drawPayload(rng);
  // Delays only for jobs well before the end, so a delayed job has run by the end.
  const delayMs = createdMs < tl.endMs - 2 * 3_600_000 && rng.chance(0.05) ? rng.int(1, 3_600) * 1_000 : 0;
  const priority = rng.chance(0.1) ? rng.int(1, 10) : 0;
  const timeoutMs = rng.chance(0.2) ? rng.pick(TIMEOUTS_MS) : null;
  const idempotencyKey = rng.chance(0.05) ? `${spec.name}:${payload.customer_id}:${rng.hex(12)}` : null;
  const outcome: Outcome = drawOutcome(rng, tl, index, spec, createdMs, createdMs + delayMs);
  return {
    index,
    id: uuidV7(createdMs, rng),
    type: spec.name,
    queue: spec.queue,
    payload,
    priority,
    timeoutMs,
    idempotencyKey,
    createdMs,
    scheduledMs: createdMs + delayMs,
    ...outcome,
  };
}

function drawPayload(rng: Random): JobPayload {
  const customer = rng.chance(BIG_CUSTOMER_SHARE) ? rng.int(1, BIG_CUSTOMERS) : rng.int(1, CUSTOMERS);
  let note = WORD_TABLE.draw(rng);
  for (let n = rng.int(3, 12); n > 1; n--) note += ` ${WORD_TABLE.draw(rng)}`;
  return {
    customer_id: customer,
    email: `customer${customer}@${MAIL_DOMAINS[customer % MAIL_DOMAINS.length] as string}`,
    amount: Math.round(Math.max(0.5, rng.logNormal(40, 1)) * 100) / 100,
    region: REGIONS[(Math.imul(customer, 0x9e3779b1) >>> 29) % REGIONS.length] as string,
    note,
  };
}

/**
 * A UUIDv7 (RFC 9562): the 48-bit creation millisecond, version 7, 12 random bits, the variant
 * and 62 random bits, all drawn from the seeded generator.
 */
export function uuidV7(ms: number, rng: Random): string {
  const time = hex32(Math.floor(ms / 4_294_967_296)).slice(4) + hex32(ms >>> 0);
  const a = hex32(rng.u32());
  const b = hex32(rng.u32());
  const c = hex32(rng.u32());
  const variant = VARIANT_HEX[rng.u32() & 3] as string;
  return `${time.slice(0, 8)}-${time.slice(8)}-7${a.slice(0, 3)}-${variant}${a.slice(3, 6)}-${b}${c.slice(0, 4)}`;
}

/** The variant nibble: binary 10xx. */
const VARIANT_HEX = ["8", "9", "a", "b"];
