// A TaskFlow worker built from the published .proto files and @grpc/grpc-js alone: no TaskFlow
// package and no generated code, so every step of the WorkerService protocol is in this file.
//
//   RegisterWorker    once, to learn the lease duration and the heartbeat interval
//   LeaseJobs         long polls for jobs while a slot is free
//   Heartbeat         every interval, carrying every lease held, to keep the leases alive
//   ReportJobs        the outcome of each job, retried until the scheduler answers
//   ReleaseJobs       on shutdown, the jobs that did not run or were stopped
//   DeregisterWorker  on shutdown, last
//
// Configuration (environment):
//   TASKFLOW_SCHEDULER_URL      host:port, http://host:port or https://host:port (default 127.0.0.1:50051)
//   TASKFLOW_TOKEN              bearer token sent as `authorization` metadata (default none)
//   TASKFLOW_QUEUES             comma-separated queues, in order of preference (default "default")
//   TASKFLOW_CONCURRENCY        jobs run at once (default 4)
//   TASKFLOW_WORKER_ID          stable worker id (default: the scheduler picks one)
//   TASKFLOW_SHUTDOWN_GRACE_MS  how long a stopping worker lets running jobs finish (default 25000)
//   TASKFLOW_PROTO_PATH         directories holding the .proto files, separated by ":" (";" on
//                               Windows; default this repository's proto/ and third_party/proto/)
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { delimiter } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const env = process.env;
const repoDir = (sub) => fileURLToPath(new URL(`../../${sub}`, import.meta.url));
const config = {
  scheduler: env.TASKFLOW_SCHEDULER_URL || "127.0.0.1:50051",
  token: env.TASKFLOW_TOKEN || "",
  queues: (env.TASKFLOW_QUEUES || "default").split(",").map((q) => q.trim()).filter((q) => q !== ""),
  concurrency: wholeNumber("TASKFLOW_CONCURRENCY", 4, 1),
  workerId: env.TASKFLOW_WORKER_ID || "",
  shutdownGraceMs: wholeNumber("TASKFLOW_SHUTDOWN_GRACE_MS", 25_000, 0),
  protoPath: (env.TASKFLOW_PROTO_PATH || [repoDir("proto"), repoDir("third_party/proto")].join(delimiter)).split(delimiter),
};
/** Longest wait of one LeaseJobs long poll; the scheduler allows up to 60 s. */
const leaseWaitMs = 10_000;
/** Deadline of the short calls (register, heartbeat, report, release, deregister). */
const rpcTimeoutMs = 10_000;

// ---------------------------------------------------------------------------------------------
// Handlers, by job type. A handler gets the job's payload as plain JSON and a signal that aborts
// when the job must stop (cancelled, lease lost, worker stopping after its grace period). It
// returns the result, any JSON value, or throws: an error with `permanent: true` fails the job
// for good, any other lets the scheduler retry it while attempts remain.
const handlers = {
  /** Returns its payload. */
  echo: async (payload) => payload,
  /** Waits `payload.ms` milliseconds. A missing or negative `ms` is a bad job, not bad luck: permanent. */
  sleep: async (payload, signal) => {
    const ms = payload.ms;
    if (!Number.isInteger(ms) || ms < 0) throw permanentError("sleep needs payload.ms, a whole number of milliseconds");
    await sleep(ms, undefined, { signal });
    return { slept_ms: ms };
  },
};

function permanentError(message) {
  return Object.assign(new Error(message), { permanent: true });
}

// ---------------------------------------------------------------------------------------------
// The client. proto-loader reads worker.proto and its imports; the google/protobuf ones come
// with proto-loader. Field names become lowerCamelCase (lease_token is leaseToken), enums
// strings ("LEASE_STATUS_LOST"), 64-bit integers strings, and a oneof names its set field in an
// extra property (a Value's `kind` is "stringValue", "structValue", ...).
const definition = protoLoader.loadSync("taskflow/v1/worker.proto", {
  includeDirs: config.protoPath,
  enums: String,
  longs: String,
  defaults: true,
  oneofs: true,
});
const { WorkerService } = grpc.loadPackageDefinition(definition).taskflow.v1;
const { address, credentials } = parseTarget(config.scheduler);
const client = new WorkerService(address, credentials, {
  // Keepalive pings find a dead connection under a long poll in seconds, not at the poll's end.
  "grpc.keepalive_time_ms": 15_000,
  "grpc.keepalive_timeout_ms": 5_000,
  // By default grpc-js backs off up to 120 s between reconnection attempts: after an outage of a
  // minute, a worker could stay away for two more, far longer than a lease. Cap it at 5 s.
  "grpc.initial_reconnect_backoff_ms": 200,
  "grpc.max_reconnect_backoff_ms": 5_000,
  // A lease answer always carries its first job whole: its payload and, for a flow's child, its
  // parents' results, which together may pass grpc-js's default limit of 4 MiB.
  "grpc.max_receive_message_length": -1,
});

function parseTarget(url) {
  const m = /^(https?):\/\/([^/]+)\/?$/.exec(url);
  if (m === null) return { address: url, credentials: grpc.credentials.createInsecure() };
  return { address: m[2], credentials: m[1] === "https" ? grpc.credentials.createSsl() : grpc.credentials.createInsecure() };
}

/** One unary call with a deadline; `onCall` receives the call so that it can be cancelled. */
function call(method, request, timeoutMs, onCall) {
  const metadata = new grpc.Metadata();
  if (config.token !== "") metadata.set("authorization", `Bearer ${config.token}`);
  return new Promise((resolve, reject) => {
    const c = client[method](request, metadata, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res)));
    onCall?.(c);
  });
}

// The scheduler looked at the request and said no: the same request gets the same answer. Any
// other error (UNAVAILABLE, DEADLINE_EXCEEDED, but also CANCELLED or INTERNAL when a connection
// breaks under a call) may have lost an answer on the way, and the call is worth sending again.
const refusals = new Set([
  grpc.status.INVALID_ARGUMENT, grpc.status.FAILED_PRECONDITION, grpc.status.OUT_OF_RANGE, grpc.status.NOT_FOUND,
  grpc.status.ALREADY_EXISTS, grpc.status.PERMISSION_DENIED, grpc.status.UNAUTHENTICATED, grpc.status.UNIMPLEMENTED,
]);
const isRefusal = (err) => refusals.has(err.code);

/** Exponential backoff with jitter, from 100 ms up to 5 s. */
const backoffMs = (failures) => Math.min(5_000, 100 * 2 ** failures) * (0.5 + Math.random() / 2);

// ---------------------------------------------------------------------------------------------
// Worker state.
let workerId = config.workerId;
let leaseMs = 30_000;
/** Aborted when the worker begins to stop. */
const stopping = new AbortController();
/** Running jobs by lease token: { lease, controller, stopReason, finished }. */
const running = new Map();
/** Leases whose outcome is being reported: heartbeats keep them alive until it is recorded. */
const reporting = new Map();
/** Every job's whole life (run, then report or release), for shutdown to wait on. */
const jobs = new Set();
/** The LeaseJobs call in flight, cancelled when the worker stops. */
let leaseCall;
/** Wakes the lease loop when a slot frees up or the worker stops. */
let wakeLeaser = () => {};
/** A report that has failed until then is given up at this time (set when stopping). */
let giveUpReportsAt = Infinity;
const heartbeatsStop = new AbortController();

async function main() {
  const reg = await register();
  workerId = reg.workerId;
  leaseMs = durationMs(reg.leaseDuration) || leaseMs;
  const heartbeatMs = durationMs(reg.heartbeatInterval) || leaseMs / 3;
  const heartbeats = heartbeatLoop(heartbeatMs);
  const leasing = leaseLoop();
  // A first signal stops the worker gracefully; a second one ends it at once (the default action).
  for (const sig of ["SIGTERM", "SIGINT"]) process.once(sig, () => void shutdown(sig, heartbeats, leasing));
  log("worker started", { worker_id: workerId, queues: config.queues, job_types: Object.keys(handlers), lease_ms: leaseMs, heartbeat_ms: heartbeatMs });
}

/** RegisterWorker, retried while the scheduler is unreachable (workers often start first). */
async function register() {
  const request = { workerId, queues: config.queues, jobTypes: Object.keys(handlers), concurrency: config.concurrency, hostname: hostname() };
  for (let failures = 0; ; failures++) {
    try {
      return await call("RegisterWorker", request, rpcTimeoutMs);
    } catch (err) {
      if (isRefusal(err)) throw err;
      log("register failed, retrying", { code: grpc.status[err.code], error: err.details });
      await sleep(backoffMs(failures));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Leasing. One long poll at a time, asking for as many jobs as there are free slots, so an idle
// worker waits on the scheduler instead of spinning. Each ask carries a request_id: a call that
// failed without an answer may still have leased jobs, so its retry repeats the same ask (same
// id, same size) and the scheduler answers with the jobs it leased for it, under the same lease
// tokens. An answered or refused ask is done; the next one gets a new id.
async function leaseLoop() {
  let ask;
  for (let failures = 0; !stopping.signal.aborted; ) {
    while (!stopping.signal.aborted && running.size >= config.concurrency) await new Promise((resolve) => (wakeLeaser = resolve));
    if (stopping.signal.aborted) break;
    ask ??= {
      workerId,
      queues: config.queues,
      jobTypes: Object.keys(handlers), // only jobs this worker has a handler for
      maxJobs: config.concurrency - running.size,
      wait: msDuration(leaseWaitMs),
      requestId: randomUUID(),
    };
    let answer;
    try {
      answer = await call("LeaseJobs", ask, leaseWaitMs + rpcTimeoutMs, (c) => (leaseCall = c));
    } catch (err) {
      // Cancelled by shutdown: the scheduler hands back what it leased for the call.
      if (stopping.signal.aborted) break;
      if (isRefusal(err)) ask = undefined;
      const waitMs = backoffMs(failures++);
      log("lease failed, retrying", { code: grpc.status[err.code], error: err.details, retry_in_ms: Math.round(waitMs) });
      await sleep(waitMs, undefined, { signal: stopping.signal }).catch(() => {});
      continue;
    }
    ask = undefined;
    failures = 0;
    if (stopping.signal.aborted) {
      // The answer came as the worker began to stop: hand the jobs back unrun.
      await release(answer.jobs.map(leaseOf), false);
      break;
    }
    for (const leased of answer.jobs) start(leased);
  }
}

const leaseOf = (leased) => ({ jobId: leased.job.id, queue: leased.job.queue, leaseToken: leased.leaseToken });

// ---------------------------------------------------------------------------------------------
// Running a job. Its outcome is whichever comes first: the handler's end, or an abort (cancel,
// lost lease, shutdown), so a handler that ignores its signal cannot hold its slot.
function start(leased) {
  const { job } = leased;
  const lease = leaseOf(leased);
  const controller = new AbortController();
  const entry = { lease, controller, stopReason: undefined, finished: undefined };
  const aborted = new Promise((_, reject) => controller.signal.addEventListener("abort", () => reject(controller.signal.reason), { once: true }));
  const handler = handlers[job.type]; // LeaseJobs named our job types: no other comes
  entry.finished = Promise.race([Promise.resolve().then(() => handler(fromStruct(job.payload), controller.signal)), aborted])
    .then((result) => ({ completed: { result: toValue(plainJson(result)) } }))
    .catch((err) => ({ failed: { error: String(err?.message ?? err), permanent: err?.permanent === true } }));
  running.set(lease.leaseToken, entry);
  log("job started", { job_id: job.id, job_type: job.type, attempt: job.attempts });
  const life = entry.finished.then(async (outcome) => {
    // Counted as reporting before the slot is freed, so no heartbeat misses the lease.
    if (entry.stopReason === undefined || entry.stopReason === "cancel") reporting.set(lease.leaseToken, lease);
    running.delete(lease.leaseToken);
    wakeLeaser();
    switch (entry.stopReason) {
      case "lost": // another attempt owns the job: stop, and do not report
        return log("lease lost, job abandoned", { job_id: job.id });
      case "shutdown": // stopped after the grace period: hand back, the attempt counts
        return release([lease], true);
      case "cancel": // the job was cancelled: report a failure, permanent so it is never retried
        return report(lease, { failed: { error: "cancelled", permanent: true } });
      default:
        return report(lease, outcome);
    }
  });
  jobs.add(life);
  void life.finally(() => jobs.delete(life));
}

function stop(entry, reason) {
  if (entry.stopReason !== undefined) return;
  entry.stopReason = reason;
  entry.controller.abort(new Error(reason === "shutdown" ? "worker stopping" : reason === "cancel" ? "cancelled" : "lease lost"));
}

/**
 * ReportJobs, one report per call, retried until the scheduler answers. Reports are idempotent
 * (a repeat answers DUPLICATE), and finished work must not be lost to a broken connection.
 */
async function report(lease, outcome) {
  const fields = { job_id: lease.jobId, outcome: outcome.completed ? "completed" : "failed", ...outcome.failed };
  try {
    for (let failures = 0; ; failures++) {
      try {
        const { results } = await call("ReportJobs", { workerId, reports: [{ lease, ...outcome }] }, rpcTimeoutMs);
        // ACCEPTED, DUPLICATE, or LEASE_LOST: another attempt owns the job and this outcome was dropped.
        return log("job reported", { ...fields, status: results[0]?.status, job_status: results[0]?.jobStatus });
      } catch (err) {
        if (isRefusal(err) || Date.now() >= giveUpReportsAt) {
          // The lease then expires and the job runs again: at least once still holds.
          return log("report given up", { ...fields, code: grpc.status[err.code], error: err.details });
        }
        const waitMs = backoffMs(failures);
        log("report failed, retrying", { job_id: lease.jobId, code: grpc.status[err.code], error: err.details, retry_in_ms: Math.round(waitMs) });
        await sleep(waitMs);
      }
    }
  } finally {
    reporting.delete(lease.leaseToken);
  }
}

/** ReleaseJobs, best effort: should it fail, the leases expire and the jobs run again later. */
async function release(leases, attemptsRan) {
  if (leases.length === 0) return;
  try {
    const { released } = await call("ReleaseJobs", { workerId, leases, attemptsRan }, rpcTimeoutMs);
    log("jobs released", { job_ids: leases.map((l) => l.jobId), attempts_ran: attemptsRan, released });
  } catch (err) {
    log("release failed", { job_ids: leases.map((l) => l.jobId), code: grpc.status[err.code], error: err.details });
  }
}

// ---------------------------------------------------------------------------------------------
// Heartbeats. One per interval, carrying every lease held: running jobs and outcomes not yet
// recorded. An empty list still says the worker is alive. The answer has one state per lease.
async function heartbeatLoop(intervalMs) {
  for (let next = Date.now(); ; ) {
    // A slow beat does not push the next one later: the wait is measured from the last start.
    next = Math.max(next + intervalMs, Date.now());
    await sleep(next - Date.now(), undefined, { signal: heartbeatsStop.signal }).catch(() => {});
    if (heartbeatsStop.signal.aborted) return;
    const leases = [...[...running.values()].map((e) => e.lease), ...reporting.values()];
    let states;
    try {
      ({ leases: states } = await call("Heartbeat", { workerId, leases }, Math.max(1_000, Math.min(rpcTimeoutMs, intervalMs))));
    } catch (err) {
      log("heartbeat failed", { code: grpc.status[err.code], error: err.details, leases: leases.length });
      continue;
    }
    states.forEach((state, i) => {
      // States come in request order; matching the job id as well costs nothing.
      const lease = leases[i]?.jobId === state.jobId ? leases[i] : leases.find((l) => l.jobId === state.jobId);
      const entry = running.get(lease?.leaseToken);
      // A lease is never extended past the attempt's deadline: LOST is also how an overrunning job is stopped.
      if (state.status === "LEASE_STATUS_LOST") {
        if (entry !== undefined) stop(entry, "lost");
        else reporting.delete(lease?.leaseToken); // its report still goes, the lease needs no more beats
      } else if (state.status === "LEASE_STATUS_CANCEL_REQUESTED" && entry !== undefined) {
        stop(entry, "cancel");
      }
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Graceful shutdown: stop leasing, let running jobs finish within the grace period, stop the
// rest and hand them back, send the last reports, deregister, exit 0.
async function shutdown(signal, heartbeats, leasing) {
  stopping.abort();
  log("worker stopping", { signal, running: running.size, grace_ms: config.shutdownGraceMs });
  leaseCall?.cancel();
  wakeLeaser();
  await leasing;
  const grace = new AbortController();
  await Promise.race([
    Promise.all([...running.values()].map((e) => e.finished)),
    sleep(config.shutdownGraceMs, undefined, { signal: grace.signal }).catch(() => {}),
  ]);
  grace.abort();
  for (const entry of running.values()) stop(entry, "shutdown");
  // Reports still unanswered after one lease's length are given up: their jobs run again later.
  giveUpReportsAt = Date.now() + leaseMs;
  await Promise.all([...jobs]);
  heartbeatsStop.abort();
  await heartbeats;
  try {
    await call("DeregisterWorker", { workerId }, rpcTimeoutMs);
  } catch (err) {
    log("deregister failed", { code: grpc.status[err.code], error: err.details });
  }
  client.close();
  log("worker stopped", { worker_id: workerId });
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// google.protobuf.Struct and Value (a job's payload and result) to and from plain JSON.
function fromValue(v) {
  switch (v?.kind) {
    case "numberValue": return v.numberValue;
    case "stringValue": return v.stringValue;
    case "boolValue": return v.boolValue;
    case "structValue": return fromStruct(v.structValue);
    case "listValue": return v.listValue.values.map(fromValue);
    default: return null;
  }
}
function fromStruct(s) {
  return Object.fromEntries(Object.entries(s?.fields ?? {}).map(([k, v]) => [k, fromValue(v)]));
}
function toValue(json) {
  if (json === null) return { nullValue: "NULL_VALUE" };
  if (typeof json === "number") return { numberValue: json };
  if (typeof json === "string") return { stringValue: json };
  if (typeof json === "boolean") return { boolValue: json };
  if (Array.isArray(json)) return { listValue: { values: json.map(toValue) } };
  return { structValue: { fields: Object.fromEntries(Object.entries(json).map(([k, v]) => [k, toValue(v)])) } };
}

/** The handler's result as plain JSON (Dates become strings, undefined null). */
function plainJson(result) {
  try {
    return JSON.parse(JSON.stringify(result ?? null) ?? "null");
  } catch (err) {
    // The same code returns the same value on every attempt: retrying is pointless.
    throw permanentError(`handler result is not JSON: ${err.message}`);
  }
}

// google.protobuf.Duration: whole seconds (a 64-bit integer, so a string here) and nanoseconds.
const durationMs = (d) => (d ? Number(d.seconds) * 1000 + d.nanos / 1e6 : 0);
const msDuration = (ms) => ({ seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 });

function wholeNumber(name, fallback, min) {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be a whole number of at least ${min}, got ${raw}`);
  return n;
}

/** One JSON line per event on stdout. */
function log(msg, fields = {}) {
  console.log(JSON.stringify({ time: new Date().toISOString(), msg, ...fields }));
}

main().catch((err) => {
  log("worker failed", { code: grpc.status[err.code], error: err.details ?? err.message });
  process.exit(1);
});
