import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { durationMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { RetryInfoSchema } from "@taskflow/proto/gen/google/rpc/error_details_pb.js";
import { uniqueQueue } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReplica, startStack, type Replica, type Stack } from "../../test/stack.js";

/** Submitters of the tokens file, each with a bucket of its own. */
const NAMES = ["alice", "bob", "carol", "dave", "erin", "warm"] as const;
type Name = (typeof NAMES)[number];
const TOKENS = Object.fromEntries(NAMES.map((n) => [n, randomBytes(18).toString("base64url")])) as Record<Name, string>;
const LIMITS = { SUBMIT_RATE_PER_S: "5", SUBMIT_BURST: "10" };

let dir: string;
let env: Record<string, string>;
let s: Stack;
let replica: Replica;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "taskflow-rate-"));
  await writeFile(join(dir, "tokens"), NAMES.map((n) => `${TOKENS[n]} submitter ${n}`).join("\n"));
  env = { AUTH_TOKENS_FILE: join(dir, "tokens"), ...LIMITS };
  s = await startStack({ env });
  replica = await startReplica(s, env);
  // The first submit of a process connects to history and loads the script: done here, so the
  // tests' calls follow each other within a token's interval.
  await s.scheduler.submitJob({ type: "rate.test", queue: uniqueQueue() }, as("warm"));
  await replica.scheduler.submitJob({ type: "rate.test", queue: uniqueQueue() }, as("warm"));
});
afterAll(async () => {
  await replica?.close();
  await s?.close();
  await rm(dir, { recursive: true, force: true });
});

const as = (who: Name) => ({ headers: { authorization: `Bearer ${TOKENS[who]}` } });
const jobs = (queue: string, n: number) => Array.from({ length: n }, (_, i) => ({ type: "rate.test", queue, payload: { i } }));

/** The refusal's code and RetryInfo delay in ms (-1 without one), or the accepted job ids. */
async function submit(call: Promise<{ jobs: { id: string }[] }>): Promise<{ ids: string[] } | { code: Code; retryMs: number }> {
  try {
    return { ids: (await call).jobs.map((j) => j.id) };
  } catch (err) {
    const ce = ConnectError.from(err);
    const [retry] = ce.findDetails(RetryInfoSchema);
    return { code: ce.code, retryMs: retry?.retryDelay === undefined ? -1 : durationMs(retry.retryDelay) };
  }
}

const idsOf = (r: Awaited<ReturnType<typeof submit>>): string[] => {
  if (!("ids" in r)) throw new Error(`refused: ${JSON.stringify(r)}`);
  return r.ids;
};

/** Ids of the queue's jobs in history, and of the job hashes Redis holds for it. */
async function stored(queue: string): Promise<{ history: string[]; redis: string[] }> {
  const { jobs: rows } = await s.history.listJobs({ queues: [queue], pageSize: 500 });
  const keys = await s.redis.keys(`${s.config.redisKeyPrefix}:{${queue}}:job:*`);
  return { history: rows.map((j) => j.id).sort(), redis: keys.map((k) => k.slice(k.lastIndexOf(":") + 1)).sort() };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("submit rate limit (5 jobs per second, bursts of 10)", () => {
  it("grants an identity its burst, refuses the next job with RetryInfo, and grants it after the delay", async () => {
    const queue = uniqueQueue();
    const sent = performance.now();
    const accepted = idsOf(await submit(s.scheduler.submitJobs({ jobs: jobs(queue, 10) }, as("alice"))));
    const one = await submit(s.scheduler.submitJob(jobs(queue, 1)[0]!, as("alice")).then((r) => ({ jobs: [r.job!] })));
    const elapsed = performance.now() - sent;
    // The bucket emptied while the first call ran; a token comes 200 ms after that.
    expect(one).toMatchObject({ code: Code.ResourceExhausted });
    const { retryMs } = one as { retryMs: number };
    expect(retryMs).toBeLessThanOrEqual(200);
    expect(retryMs).toBeGreaterThanOrEqual(200 - elapsed - 1);
    expect(await submit(s.scheduler.submitJobs({ jobs: jobs(queue, 3) }, as("alice")))).toMatchObject({ code: Code.ResourceExhausted });
    await sleep(retryMs);
    accepted.push(...idsOf(await submit(s.scheduler.submitJobs({ jobs: jobs(queue, 1) }, as("alice")))));
    // Refused calls wrote nothing: history and Redis hold exactly the accepted jobs.
    expect(accepted).toHaveLength(11);
    expect(await stored(queue)).toEqual({ history: [...accepted].sort(), redis: [...accepted].sort() });
  });

  it("leaves other identities their own buckets", async () => {
    const queue = uniqueQueue();
    await submit(s.scheduler.submitJobs({ jobs: jobs(queue, 10) }, as("bob")));
    expect(await submit(s.scheduler.submitJobs({ jobs: jobs(queue, 3) }, as("bob")))).toMatchObject({ code: Code.ResourceExhausted });
    const carol = idsOf(await submit(s.scheduler.submitJobs({ jobs: jobs(queue, 10) }, as("carol"))));
    expect(carol).toHaveLength(10);
  });

  it("refuses a batch larger than the bucket outright", async () => {
    const queue = uniqueQueue();
    const err = await s.scheduler.submitJobs({ jobs: jobs(queue, 11) }, as("erin")).catch((e: unknown) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).rawMessage).toBe("jobs: 11 jobs exceed the submit burst of 10 jobs of erin; submit at most 10 per call");
    expect(await stored(queue)).toEqual({ history: [], redis: [] });
  });

  it("shares each identity's bucket between scheduler replicas", async () => {
    const queue = uniqueQueue();
    const first = idsOf(await submit(s.scheduler.submitJobs({ jobs: jobs(queue, 6) }, as("dave"))));
    const second = idsOf(await submit(replica.scheduler.submitJobs({ jobs: jobs(queue, 4) }, as("dave"))));
    // 3 jobs are 600 ms away, whichever replica is asked.
    const refusedThere = await submit(replica.scheduler.submitJobs({ jobs: jobs(queue, 3) }, as("dave")));
    const refusedHere = await submit(s.scheduler.submitJobs({ jobs: jobs(queue, 3) }, as("dave")));
    expect(refusedThere).toMatchObject({ code: Code.ResourceExhausted });
    expect(refusedHere).toMatchObject({ code: Code.ResourceExhausted });
    expect(await stored(queue)).toEqual({ history: [...first, ...second].sort(), redis: [...first, ...second].sort() });
  });

  it("answers plain HTTP callers 429 with retry-after in seconds", async () => {
    const queue = uniqueQueue();
    const post = () =>
      fetch(`${s.url}/taskflow.v1.SchedulerService/SubmitJobs`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${TOKENS.erin}` },
        body: JSON.stringify({ jobs: jobs(queue, 10) }),
      });
    expect((await post()).status).toBe(200);
    const refused = await post();
    expect(refused.status).toBe(429);
    // 10 jobs at 5 per second: 2 s away, less what passed since the first call.
    expect(refused.headers.get("retry-after")).toBe("2");
    const body = (await refused.json()) as { code: string; details?: { type: string }[] };
    expect(body.code).toBe("resource_exhausted");
    expect(body.details?.map((d) => d.type)).toEqual(["google.rpc.RetryInfo", "google.rpc.QuotaFailure"]);
  });
});
