import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { eventually, spawnTestStack, type TestStack } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** The built command, run as a user runs it (the test build step, `turbo run build`, makes it). */
const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const WORKER_ID = "cli-test-worker";
/** A second queue the stack's worker serves, for pausing without holding up "default". */
const HELD = "held";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let stack: TestStack;
let dir: string;

/** Runs `taskflow ...args` against the stack, through the environment, and collects what it printed. */
function taskflow(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, TASKFLOW_SCHEDULER_URL: stack.schedulerUrl, TASKFLOW_HISTORY_URL: stack.historyUrl };
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs `taskflow ...args --json`, expecting exit code `code`, and parses the document. */
async function json(args: string[], code = 0): Promise<any> {
  const run = await taskflow(...args, "--json");
  expect(run.code, `taskflow ${args.join(" ")}: ${run.stderr}`).toBe(code);
  return JSON.parse(run.stdout);
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build it with pnpm exec turbo run build`);
  dir = await mkdtemp(join(tmpdir(), "taskflow-cli-"));
  stack = await spawnTestStack({ schedulers: 1, histories: 1, worker: { WORKER_QUEUES: `default,${HELD}`, WORKER_ID } });
});

afterAll(async () => {
  await stack?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe("taskflow against a running stack", () => {
  let echoId: string;

  it("submit --wait prints the completed job with its result", async () => {
    const job = await json(["submit", "echo", "--payload", '{"order":{"id":42},"note":"cli e2e"}', "--wait", "--max-attempts", "2"]);
    expect(job.status).toBe("JOB_STATUS_COMPLETED");
    expect(job.result).toEqual({ order: { id: 42 }, note: "cli e2e" });
    expect(job.maxAttempts).toBe(2);
    echoId = job.id;
  });

  it("submit --wait exits 1 with the job when it fails", async () => {
    const run = await taskflow("submit", "fail", "--payload", '{"message":"no luck"}', "--max-attempts", "1", "--wait");
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/status:\s+FAILED/);
    expect(run.stdout).toContain("no luck");
  });

  it("list finds the job by its filters, and not by others", async () => {
    const found = await json(["list", "--status", "completed", "--type", "echo", "--payload-contains", '{"order":{"id":42}}', "--created-from", "1h"]);
    expect(found.jobs.map((j: any) => j.id)).toEqual([echoId]);
    const failed = await json(["list", "--status", "failed"]);
    expect(failed.jobs.map((j: any) => j.type)).toEqual(["fail"]);
    const none = await json(["list", "--payload-contains", '{"order":{"id":43}}']);
    expect(none.jobs).toEqual([]);
    const text = await taskflow("list", "--queue", "default", "--limit", "1", "--oldest");
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^ID\s+TYPE\s+QUEUE\s+STATUS/);
    expect(text.stdout).toContain(echoId);
    expect(text.stdout).toContain("(the first 1; --limit shows more)");
  });

  it("get --events shows the audit trail", async () => {
    const job = await json(["get", echoId, "--events"]);
    expect(job.id).toBe(echoId);
    expect(job.events.map((e: any) => e.type)).toEqual(["JOB_EVENT_TYPE_SUBMITTED", "JOB_EVENT_TYPE_STARTED", "JOB_EVENT_TYPE_COMPLETED"]);
    const text = await taskflow("get", echoId, "--events");
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/status:\s+COMPLETED/);
    for (const event of ["SUBMITTED", "STARTED", "COMPLETED"]) expect(text.stdout).toContain(event);
  });

  it("submit --depends-on runs the job after its parent; get shows parents and children", async () => {
    const submitted = await json(["submit", "echo", "--depends-on", echoId, "--on-parent-failure", "cancel", "--wait"]);
    expect(submitted.status).toBe("JOB_STATUS_COMPLETED");
    const child = await json(["get", submitted.id]);
    expect(child.parents).toEqual([{ id: echoId, type: "echo", queue: "default", status: "JOB_STATUS_COMPLETED" }]);
    expect(child.onParentFailure).toBe("PARENT_FAILURE_POLICY_CANCEL");
    const text = await taskflow("get", echoId);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`children:\\s+${submitted.id} echo COMPLETED`));
  });

  it("cancel stops a delayed job", async () => {
    const job = await json(["submit", "echo", "--delay", "1h"]);
    expect(job.status).toBe("JOB_STATUS_PENDING");
    const run = await taskflow("cancel", job.id, "--reason", "not needed");
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(`${job.id}  CANCELLED\n`);
    const after = await json(["get", job.id, "--events"]);
    expect(after.status).toBe("JOB_STATUS_CANCELLED");
    const cancelled = after.events.at(-1);
    expect(cancelled.type).toBe("JOB_EVENT_TYPE_CANCELLED");
    expect(JSON.stringify(cancelled)).toContain("not needed");
  });

  it("pause holds a queue's jobs, resume lets them run, limits show on the queue", async () => {
    const paused = await json(["pause", HELD]);
    expect(paused.paused).toBe(true);
    const job = await json(["submit", "echo", "--queue", HELD]);
    // A worker serving the queue leases within milliseconds: a second of PENDING means held.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await json(["get", job.id])).status).toBe("JOB_STATUS_PENDING");
    const queues = await taskflow("queues");
    expect(queues.stdout).toMatch(new RegExp(`^${HELD}\\s+1\\s+0\\s+0\\s+\\d+\\s+0\\s+\\S.*\\s+\\d+\\s+yes\\s+none$`, "m"));

    expect((await json(["resume", HELD])).paused).toBe(false);
    const watched = await taskflow("watch", job.id);
    expect(watched.code, watched.stderr).toBe(0);
    expect(watched.stdout).toContain("status: COMPLETED");
    expect(watched.stdout).toMatch(/event: +\d+ +\S+ +COMPLETED/);

    await json(["limits", HELD, "--max-running", "3", "--max-starts", "10", "--per", "2s"]);
    const limited = await json(["queue", HELD]);
    expect(limited.limits).toEqual({ maxRunning: 3, maxStarts: 10, per: "2s" });
    expect((await taskflow("queues")).stdout).toContain("max-running 3, max-starts 10 per 2s");
    await json(["limits", HELD, "--clear"]);
    expect((await json(["queue", HELD])).limits?.maxRunning ?? 0).toBe(0);
    await json(["limits", HELD, "--type", "echo", "--max-running", "2"]);
    expect((await json(["queue", HELD])).typeLimits).toEqual([{ type: "echo", limits: { maxRunning: 2, maxStarts: 0 }, running: "0" }]);
    expect((await taskflow("queue", HELD)).stdout).toMatch(/limits: +echo: max-running 2 \(0 running\)/);
    await json(["limits", HELD, "--type", "echo", "--clear"]);
    expect((await json(["queue", HELD])).typeLimits ?? []).toEqual([]);

    // Each change is in the operators' trail, newest first.
    const { actions } = await json(["audit", "actions", "--queue", HELD]);
    expect(actions.map((a: { action: string }) => a.action)).toEqual(["queue.limits", "queue.limits", "queue.limits", "queue.limits", "queue.resume", "queue.pause"]);
    expect(actions[1].details).toEqual({ maxRunning: 2, maxStarts: 0, perMs: 0, type: "echo" });
    expect(actions[3].details).toEqual({ maxRunning: 3, maxStarts: 10, perMs: 2000 });
    expect((await taskflow("audit", "actions", "--queue", HELD, "--action", "queue.pause")).stdout).toMatch(new RegExp(`\\sapi\\s+queue\\.pause\\s+${HELD}\\s`));
  });

  it("schedules: create, list, get, update, trigger (and list its runs), pause, resume, delete", async () => {
    const created = await json(["schedules", "create", "cli.nightly", "--cron", "0 3 * * *", "--tz", "Europe/Berlin", "--type", "echo", "--queue", HELD, "--payload", '{"n":1}', "--overlap", "allow"]);
    expect(created).toMatchObject({ id: "cli.nightly", cron: "0 3 * * *", timeZone: "Europe/Berlin", overlapPolicy: "OVERLAP_POLICY_ALLOW", template: { type: "echo", queue: HELD } });
    expect((await taskflow("schedules", "list")).stdout).toMatch(/^cli\.nightly\s+cron "0 3 \* \* \*" Europe\/Berlin\s+echo\s+held\s+allow\s+no\s+\S+\s+-$/m);
    expect((await taskflow("schedules", "get", "cli.nightly")).stdout).toMatch(/^next run:\s+\d{4}-\d{2}-\d{2}T\d{2}:00:00\.000Z$/m);
    // Options not given keep their values.
    const updated = await json(["schedules", "update", "cli.nightly", "--every", "1h"]);
    expect(updated).toMatchObject({ interval: "3600s", overlapPolicy: "OVERLAP_POLICY_ALLOW", template: { type: "echo", queue: HELD, payload: { n: 1 } } });
    const triggered = await json(["schedules", "trigger", "cli.nightly", "--request-id", "r1"]);
    expect(triggered.job).toMatchObject({ scheduleId: "cli.nightly", type: "echo" });
    expect((await json(["schedules", "trigger", "cli.nightly", "--request-id", "r1"])).job.id).toBe(triggered.job.id);
    const runs = await json(["list", "--schedule", "cli.nightly"]);
    expect(runs.jobs.map((j: { id: string }) => j.id)).toEqual([triggered.job.id]);
    expect((await json(["schedules", "pause", "cli.nightly"])).paused).toBe(true);
    expect((await taskflow("schedules", "resume", "cli.nightly")).stdout).toBe("cli.nightly resumed\n");
    expect((await taskflow("schedules", "delete", "cli.nightly")).stdout).toBe("cli.nightly deleted\n");
    const gone = await taskflow("schedules", "get", "cli.nightly");
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain("not_found");
    const bad = await taskflow("schedules", "create", "cli.bad", "--cron", "61 * * * *", "--type", "echo");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("schedule.cron");
    expect((await taskflow("schedules", "create", "cli.bad", "--type", "echo")).code).toBe(2);
  });

  it("workers lists the stack's worker, and worker shows it", async () => {
    const workers = await eventually(async () => {
      const doc = await json(["workers", "--status", "healthy"]);
      return doc.workers.length > 0 ? doc.workers : undefined;
    });
    expect(workers.map((w: any) => w.id)).toEqual([WORKER_ID]);
    const worker = await json(["worker", WORKER_ID]);
    expect(worker).toMatchObject({ id: WORKER_ID, status: "WORKER_STATUS_HEALTHY", queues: ["default", HELD] });
    expect(Number(worker.jobsCompleted)).toBeGreaterThanOrEqual(2);
    expect((await json(["workers", "--status", "gone"])).workers).toEqual([]);
  });

  it("stats over the last hour counts the jobs by status", async () => {
    const stats = await json(["stats", "--last", "1h", "--bucket", "minute"]);
    // The echo jobs (one a flow's child, one a schedule's run), the failed one and the cancelled one.
    expect(stats.created).toMatchObject({ completed: "4", failed: "1", cancelled: "1", total: "6" });
    expect(stats.bucket).toBe("STATS_BUCKET_MINUTE");
    const echoOnly = await json(["stats", "--last", "1h", "--type", "echo", "--queue", "default"]);
    expect(echoOnly.created).toMatchObject({ completed: "2", cancelled: "1", total: "3" });
    const text = await taskflow("stats");
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/created:\s+6 \(pending 0, processing 0, completed 4, failed 1, cancelled 1\)/);
    expect(text.stdout).toContain("no luck");
    // Per queue, the same finished jobs, each queue's failure rate beside them.
    const perQueue = (await json(["stats", "--last", "1h", "--by-queue"])).byQueue as Record<string, string | number | undefined>[];
    const sum = (k: string) => perQueue.reduce((n, q) => n + Number(q[k] ?? 0), 0);
    expect([sum("completed"), sum("failed"), sum("cancelled")]).toEqual([4, 1, 1]);
    expect(perQueue.map((q) => q.queue)).toContain("default");
    const byQueueText = await taskflow("stats", "--by-queue");
    expect(byQueueText.stdout).toMatch(/By queue\nQUEUE\s+COMPLETED\s+FAILED\s+CANCELLED\s+FAILURE RATE\n/);
    expect(byQueueText.stdout).toMatch(/^default\s+\d+\s+\d+\s+\d+\s+\d+\.\d%$/m);
  });

  it("audit export writes NDJSON to a file and to stdout", async () => {
    const file = join(dir, "audit.ndjson");
    const summary = await json(["audit", "export", "--last", "24h", "--output", file]);
    const lines = (await readFile(file, "utf8")).split("\n").filter((l) => l !== "");
    expect(summary).toMatchObject({ file, events: lines.length });
    const events = lines.map((l) => JSON.parse(l));
    expect(events.filter((e) => e.jobId === echoId).length).toBe(3);
    const stdout = await taskflow("audit", "export", "--type", "echo", "--queue", HELD);
    expect(stdout.code).toBe(0);
    const held = stdout.stdout.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
    // The job held by the pause and the schedule's run, three events each.
    expect(held.length).toBe(6);
  });

  it("watch shows a job's progress; watch --type follows every matching job until interrupted", async () => {
    // A long-running watch of sleep jobs, as a dashboard would keep one open.
    const env = { ...process.env, TASKFLOW_SCHEDULER_URL: stack.schedulerUrl, TASKFLOW_HISTORY_URL: stack.historyUrl };
    const follower = spawn(process.execPath, [CLI, "watch", "--type", "sleep", "--queue", "default"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let followed = "";
    let followerErr = "";
    follower.stdout.on("data", (chunk: Buffer) => (followed += chunk.toString()));
    follower.stderr.on("data", (chunk: Buffer) => (followerErr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => follower.once("close", resolve));
    await eventually(() => Promise.resolve(followerErr.includes("watching") ? true : undefined));

    // 4 s: four reports, a second apart; starting the command may take a second or two of them.
    const job = await json(["submit", "sleep", "--payload", '{"ms":4000}']);
    await json(["submit", "echo"]);
    const watched = await taskflow("watch", job.id);
    expect(watched.code, watched.stderr).toBe(0);
    expect(watched.stdout).toMatch(/^progress: (50|75)% \{"slept_ms":(2000|3000)\}$/m);
    expect(watched.stdout).toContain("status: COMPLETED");

    const line = (pattern: string) => new RegExp(`^${job.id}  sleep  default  ${pattern}$`, "m");
    // The last value (100%) is reported as the handler returns, so it may not be sent: any value ends the line.
    await eventually(() => Promise.resolve(line("COMPLETED  1/3  \\d+% .*").test(followed) ? true : undefined));
    expect(followed).toMatch(line("PROCESSING  1/3  25% \\{\"slept_ms\":1000\\}"));
    expect(followed).not.toContain("echo");
    follower.kill("SIGINT");
    expect(await exited).toBe(0);
  });

  it("a bad command line exits 2 with a message", async () => {
    const badDelay = await taskflow("submit", "echo", "--delay", "soon");
    expect(badDelay.code).toBe(2);
    expect(badDelay.stderr).toContain("--delay");
    const both = await taskflow("submit", "echo", "--delay", "5s", "--run-at", "2030-01-01T00:00:00Z");
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("--delay and --run-at cannot be used together");
    const badStatus = await taskflow("list", "--status", "done");
    expect(badStatus.code).toBe(2);
    expect(badStatus.stderr).toContain('unknown status "done"');
    expect((await taskflow("frobnicate")).code).toBe(2);
    const both2 = await taskflow("watch", randomUUID(), "--queue", "default");
    expect(both2.code).toBe(2);
    expect(both2.stderr).toContain("a job id or filters");
  });

  it("a refused call exits 1 with its code", async () => {
    const missing = await taskflow("get", randomUUID());
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^not_found: /);
    const unreachable = await taskflow("queues", "--scheduler", "http://127.0.0.1:1");
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/^unavailable: /);
  });

  it("dead-letters shows a failed job, retry puts it back (by id, or by filter with --dry-run first), and it runs again", async () => {
    const marker = `m${randomUUID().replaceAll("-", "")}`;
    const failed = await json(["submit", "fail", "--payload", `{"message":"${marker}"}`, "--max-attempts", "1", "--wait"], 1);
    const dead = await json(["dead-letters", "--queue", "default"]);
    expect(dead.failed.map((j: any) => j.id)).toContain(failed.id);
    expect(dead.parked).toEqual([]);
    const text = await taskflow("dead-letters", "--queue", "default");
    expect(text.stdout).toContain(failed.id);
    expect(text.stdout).toContain("taskflow retry <id>");

    const dry = await json(["retry", "--status", "failed", "--queue", "default", "--type", "fail", "--text", marker, "--limit", "5", "--dry-run"]);
    expect(dry).toMatchObject({ more: false, dryRun: true });
    expect(dry.jobs.map((j: any) => j.id)).toEqual([failed.id]);
    expect((await json(["get", failed.id])).status).toBe("JOB_STATUS_FAILED");

    const retried = await json(["retry", failed.id]);
    expect(retried).toMatchObject({ id: failed.id, status: "JOB_STATUS_PENDING" });
    // The fail handler fails again: the trail shows the retry and a second run.
    await eventually(async () => ((await json(["get", failed.id])).status === "JOB_STATUS_FAILED" ? true : undefined));
    const types = (await json(["get", failed.id, "--events"])).events.map((e: any) => e.type.replace("JOB_EVENT_TYPE_", ""));
    expect(types).toEqual(["SUBMITTED", "STARTED", "FAILED", "RETRIED", "STARTED", "FAILED"]);

    const byFilter = await taskflow("retry", "--type", "fail", "--text", marker);
    expect(byFilter.code, byFilter.stderr).toBe(0);
    expect(byFilter.stdout).toContain("retried 1 job(s)");
    const refused = await taskflow("retry", echoId);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^failed_precondition: /);
    expect((await taskflow("retry")).code).toBe(2);
  });
});
