import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, uniqueQueue } from "@taskflow/testkit";
import { JobEventTypeSchema, JobStatus, enumText, type Job } from "@taskflow/proto";
import { createWorker, type Worker } from "@taskflow/worker-sdk";
import type { Page } from "playwright-core";
import { pino } from "pino";
import { PHONE, expectAccessible, expectNoPageOverflow, screenshot, startDashboardFixture, type DashboardFixture } from "./dashboard-fixture.js";

let f: DashboardFixture;
/** The seeded jobs, by what they are. */
const s = {} as {
  ada: Job;
  bob: Job;
  plain: Job;
  failed: Job;
  delayed: Job;
  parent: Job;
  child: Job;
  scheduled: Job;
  bulk: Job[];
  /** Every job created before `cut`, and the time itself (a whole second; the bulk jobs come after it). */
  before: Job[];
  cut: Date;
  start: Date;
};
const BULK = 55;
const ERROR = "ledger checksum mismatch quokka";

beforeAll(async () => {
  f = await startDashboardFixture();
  s.start = new Date();
  const pair = await f.admin.submitMany([
    { type: "echo", queue: "emails", payload: { to: "ada@example.com", customer: { id: 42 } } },
    { type: "echo", queue: "emails", payload: { to: "bob@example.com", customer: { id: 7 } } },
  ]);
  [s.ada, s.bob] = [pair[0]!, pair[1]!];
  s.plain = await f.admin.submit({ type: "echo", queue: "default", payload: { note: "plain" } });
  s.failed = await f.admin.submit({ type: "fail", queue: "reports", payload: { message: ERROR }, maxAttempts: 2 });
  s.delayed = await f.admin.submit({ type: "echo", queue: "emails", delayMs: 3_600_000 });
  const flow = await f.admin.submitFlow({
    type: "echo",
    queue: "default",
    payload: { step: "parent" },
    children: [{ type: "echo", queue: "default", payload: { step: "child" } }],
  });
  [s.parent, s.child] = [flow[0]!, flow[1]!];
  await f.admin.createSchedule({ id: "nightly-report", intervalMs: 3_600_000, template: { type: "echo", queue: "reports", payload: { run: "nightly" } }, paused: true });
  const run = await f.admin.triggerSchedule("nightly-report");
  s.scheduled = run.job!;
  for (const j of [s.ada, s.bob, s.plain, s.failed, s.parent, s.child, s.scheduled]) await f.admin.waitFor(j.id, { timeoutMs: 20_000 });
  s.before = [s.ada, s.bob, s.plain, s.failed, s.delayed, s.parent, s.child, s.scheduled];
  // The next whole second, passed before the bulk jobs are created: a time filter to the second
  // (what the form's time fields hold) falls between the two groups.
  s.cut = new Date(Math.ceil(Date.now() / 1_000) * 1_000);
  await eventually(() => Promise.resolve(Date.now() > s.cut.getTime() ? true : undefined));
  // A queue nobody serves: the jobs stay pending.
  s.bulk = await f.admin.submitMany(Array.from({ length: BULK }, (_, i) => ({ type: "echo", queue: "bulk", payload: { n: i } })));
}, 90_000);

afterAll(async () => {
  await f?.close();
});

const ids = (jobs: Job[]) => jobs.map((j) => j.id).sort();
/** The job ids of the shown rows, in their order. */
const rowIds = (page: Page) => page.locator("table.jobs tbody tr").evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset["jobId"] ?? ""));
const sortedRowIds = async (page: Page) => (await rowIds(page)).sort();
const param = (page: Page, name: string) => new URL(page.url()).searchParams.getAll(name);

/** Opens the Jobs page at `query` and waits for its answer (rows, or "No job matches"). */
async function openJobs(page: Page, query: string): Promise<void> {
  await page.goto(`/jobs${query}`);
  await page.locator("table.jobs").or(page.getByText("No job matches these filters.")).waitFor();
}

describe("jobs page", () => {
  it("narrows to the expected jobs with every filter of the URL", async () => {
    const { context, page } = await f.open({ token: f.tokens.reader });
    try {
      const iso = (d: Date) => d.toISOString();
      const cases: [string, Job[]][] = [
        ["?status=failed", [s.failed]],
        ["?status=pending&queue=emails", [s.delayed]],
        ["?type=fail", [s.failed]],
        ["?type=echo&queue=emails", [s.ada, s.bob, s.delayed]],
        ["?queue=reports", [s.failed, s.scheduled]],
        ["?queue=reports&queue=emails&status=completed", [s.ada, s.bob, s.scheduled]],
        ["?worker=dash-worker", [s.ada, s.bob, s.plain, s.failed, s.parent, s.child, s.scheduled]],
        ["?worker=nobody", []],
        ["?schedule=nightly-report", [s.scheduled]],
        ["?text=quokka", [s.failed]],
        [`?payload=${encodeURIComponent('{"customer":{"id":42}}')}`, [s.ada]],
        ["?attempts=2", [s.failed]],
        [`?to=${iso(s.cut)}`, s.before],
        [`?from=${iso(s.cut)}&status=completed`, []],
        [`?finished_from=${iso(s.start)}&queue=emails`, [s.ada, s.bob]],
        [`?finished_to=${iso(s.start)}`, []],
      ];
      for (const [query, want] of cases) {
        await openJobs(page, query);
        expect({ query, ids: await sortedRowIds(page) }).toEqual({ query, ids: ids(want) });
      }
      // Newest first by default, oldest first on request: the same jobs, reversed.
      await openJobs(page, "?queue=emails");
      const newest = await rowIds(page);
      expect(newest).toEqual(ids([s.ada, s.bob, s.delayed]).reverse());
      await openJobs(page, "?queue=emails&order=oldest");
      expect(await rowIds(page)).toEqual([...newest].reverse());
    } finally {
      await context.close();
    }
  });

  it("applies the form to the URL, refuses a payload that is no JSON object, and reproduces the results after a reload", async () => {
    const { context, page } = await f.open({ token: f.tokens.reader });
    try {
      await openJobs(page, "");
      await page.getByRole("checkbox", { name: "failed" }).check();
      await page.getByLabel("Types").fill("fail, echo");
      await page.getByLabel("Search payloads and errors").fill("checksum");
      await page.getByRole("button", { name: "Apply filters" }).click();
      await expect.poll(() => param(page, "status")).toEqual(["failed"]);
      expect(param(page, "type")).toEqual(["fail", "echo"]);
      expect(param(page, "text")).toEqual(["checksum"]);
      await expect.poll(() => rowIds(page)).toEqual([s.failed.id]);
      await page.locator(`tr[data-job-id="${s.failed.id}"] td.error-cell`).getByText(ERROR).waitFor();

      // A payload that is not a JSON object is refused before any call, and the URL stays.
      const before = page.url();
      await page.getByLabel("Payload contains (JSON object)").fill("[1, 2");
      await page.getByRole("button", { name: "Apply filters" }).click();
      await page.getByRole("alert").filter({ hasText: /^Payload not valid JSON/ }).waitFor();
      expect(page.url()).toBe(before);
      await page.getByLabel("Payload contains (JSON object)").fill("[1, 2]");
      await page.getByRole("button", { name: "Apply filters" }).click();
      await page.getByRole("alert").filter({ hasText: "Payload must be a JSON object" }).waitFor();
      await expectAccessible(page);

      await page.getByRole("link", { name: "Clear filters" }).click();
      await expect.poll(() => new URL(page.url()).search).toBe("");
      // The form is drawn again for the cleared search; fill it once it is.
      await expect.poll(() => page.getByLabel("Search payloads and errors").inputValue()).toBe("");
      await page.getByLabel("Payload contains (JSON object)").fill('{"customer": {"id": 7}}');
      await page.getByLabel("Queues").fill("emails");
      await page.getByLabel("At least attempts").fill("1");
      await page.getByLabel("Created before").fill(localInput(s.cut));
      await page.getByLabel("Order").selectOption("oldest");
      await page.getByRole("button", { name: "Apply filters" }).click();
      await expect.poll(() => param(page, "payload")).toEqual(['{"customer":{"id":7}}']);
      expect(param(page, "to")).toEqual([s.cut.toISOString()]);
      expect(param(page, "order")).toEqual(["oldest"]);
      expect(param(page, "attempts")).toEqual(["1"]);
      await expect.poll(() => rowIds(page)).toEqual([s.bob.id]);

      // The URL is the search: a reload, or the link opened elsewhere, shows the same jobs.
      const url = page.url();
      await page.reload();
      await expect.poll(() => rowIds(page)).toEqual([s.bob.id]);
      expect(await page.getByLabel("Created before").inputValue()).toBe(localInput(s.cut));
      expect(await page.getByLabel("Payload contains (JSON object)").inputValue()).toBe('{"customer":{"id":7}}');
      const other = await f.open({ token: f.tokens.reader });
      try {
        await other.page.goto(url);
        await expect.poll(() => rowIds(other.page)).toEqual([s.bob.id]);
      } finally {
        await other.context.close();
      }
    } finally {
      await context.close();
    }
  });

  it("pages with the next page token held in the URL", async () => {
    const { context, page } = await f.open({ token: f.tokens.reader });
    try {
      await openJobs(page, "?queue=bulk");
      const newestFirst = ids(s.bulk).reverse();
      await expect.poll(() => rowIds(page)).toEqual(newestFirst.slice(0, 50));
      expect(await page.getByRole("button", { name: "First page" }).isDisabled()).toBe(true);
      await page.getByRole("button", { name: "Next page" }).click();
      await expect.poll(() => rowIds(page)).toEqual(newestFirst.slice(50));
      const token = param(page, "page")[0] ?? "";
      expect(token).not.toBe("");
      expect(param(page, "queue")).toEqual(["bulk"]);
      // The API's second page is the same.
      const first = await f.reader.list({ queues: ["bulk"] });
      expect(first.nextPageToken).toBe(token);
      expect(await page.getByRole("button", { name: "Next page" }).isDisabled()).toBe(true);
      await page.reload();
      await expect.poll(() => rowIds(page)).toEqual(newestFirst.slice(50));
      await page.getByRole("button", { name: "First page" }).click();
      await expect.poll(() => rowIds(page)).toEqual(newestFirst.slice(0, 50));
      expect(param(page, "page")).toEqual([]);
      await expectAccessible(page);
      await screenshot(page, "jobs");
    } finally {
      await context.close();
    }
  });

  it("follows the shown jobs live: a new job is announced, then its row changes without a reload", async () => {
    const { context, page } = await f.open({ token: f.tokens.reader });
    try {
      await openJobs(page, "?queue=emails&type=slow");
      await page.getByText("No job matches these filters.").waitFor();
      await page.locator('[data-live="live"]').waitFor();
      await page.evaluate(() => ((window as unknown as { stillHere: boolean }).stillHere = true));

      const job = await f.admin.submit({ type: "slow", queue: "emails", payload: { ms: 6_000 } });
      const notice = page.locator(".new-jobs");
      await expect.poll(() => notice.textContent(), { timeout: 10_000 }).toMatch(/^1 new job match/);
      expect(await rowIds(page)).toEqual([]);
      await notice.getByRole("button", { name: "Show" }).click();
      await expect.poll(() => rowIds(page)).toEqual([job.id]);
      const row = page.locator(`tr[data-job-id="${job.id}"]`);
      expect(["pending", "processing"]).toContain(await row.locator('[data-cell="status"]').textContent());
      await expect.poll(() => row.locator('[data-cell="progress"]').textContent(), { timeout: 15_000 }).toBe("100 %");
      await expect.poll(() => row.locator('[data-cell="status"]').textContent(), { timeout: 15_000 }).toBe("completed");
      expect(await row.locator('[data-cell="attempts"]').textContent()).toBe("1 / 3");
      expect((await f.admin.get(job.id)).attempts).toBe(1);
      // Still the same document: the row changed in place.
      expect(await page.evaluate(() => (window as unknown as { stillHere?: boolean }).stillHere)).toBe(true);
      expect(await notice.count()).toBe(0);
    } finally {
      await context.close();
    }
  });

  it("is readable on a phone-sized screen", async () => {
    const { context, page } = await f.open({ token: f.tokens.reader, viewport: PHONE });
    try {
      await openJobs(page, "?status=failed&status=completed");
      await page.locator(`tr[data-job-id="${s.failed.id}"]`).waitFor();
      await expectNoPageOverflow(page);
      await expectAccessible(page);
      await screenshot(page, "jobs-phone");
    } finally {
      await context.close();
    }
  });

  it("names a malformed filter of the URL instead of searching", async () => {
    const { context, page } = await f.open({ token: f.tokens.reader });
    try {
      await page.goto("/jobs?status=exploded&attempts=two");
      await page.getByRole("alert").filter({ hasText: 'status: unknown status "exploded"' }).waitFor();
      await page.getByRole("alert").filter({ hasText: 'attempts: must be a whole number from 1, got "two"' }).waitFor();
      expect(await page.locator("table.jobs").count()).toBe(0);
    } finally {
      await context.close();
    }
  });
});

describe("retry matching jobs", () => {
  const queue = uniqueQueue();
  /** While set, the queue's `flaky` jobs fail with their payload's message (a downstream outage). */
  let outage = true;
  let worker: Worker | undefined;
  const r = {} as { upstream: Job[]; cancelled: Job[]; other: Job; seeded: Date };

  beforeAll(async () => {
    r.seeded = new Date();
    // Cancelled while no worker serves the queue yet.
    r.cancelled = await f.admin.submitMany([1, 2].map((n) => ({ type: "flaky", queue, payload: { message: "upstream timeout", n } })));
    for (const j of r.cancelled) await f.admin.cancel(j.id);
    worker = createWorker({
      scheduler: f.stack.schedulerUrl,
      token: f.tokens.worker,
      workerId: `retry-worker-${queue}`,
      queues: [queue],
      handlers: {
        flaky: (ctx) => (outage ? Promise.reject(new Error(typeof ctx.payload["message"] === "string" ? ctx.payload["message"] : "failed")) : Promise.resolve({ ok: true })),
      },
      logger: pino({ level: "silent" }),
    });
    await worker.start();
    r.upstream = await f.admin.submitMany([1, 2, 3].map((n) => ({ type: "flaky", queue, payload: { message: "upstream 503", n }, maxAttempts: 1 })));
    r.other = await f.admin.submit({ type: "flaky", queue, payload: { message: "bad input" }, maxAttempts: 1 });
    for (const j of [...r.cancelled, ...r.upstream, r.other]) await f.admin.waitFor(j.id, { timeoutMs: 20_000 });
  }, 60_000);

  afterAll(async () => {
    await worker?.stop();
  });

  const control = (page: Page) => page.locator("[data-retry]");
  const statuses = async (jobs: Job[]) => Promise.all(jobs.map(async (j) => (await f.admin.get(j.id)).status));

  it("shows a reader's refused retry in the service's words and changes nothing", async () => {
    const { context, page } = await f.open({ token: f.tokens.reader });
    try {
      await openJobs(page, `?status=failed&queue=${queue}&text=bad`);
      await expect.poll(() => rowIds(page)).toEqual([r.other.id]);
      const before = await f.admin.events(r.other.id);
      await control(page).getByRole("button", { name: "Retry matching jobs" }).click();
      await expect
        .poll(() => control(page).getByRole("alert").textContent())
        .toBe("Refused: viewer may not call taskflow.v1.SchedulerService/RetryJobs: it needs the role admin");
      expect(await control(page).getByRole("button").allTextContents()).toEqual(["Retry matching jobs"]);
      expect((await f.admin.get(r.other.id)).status).toBe(JobStatus.FAILED);
      expect(await f.admin.events(r.other.id)).toEqual(before);
      await expectAccessible(page);
    } finally {
      await context.close();
    }
  });

  it("is offered only for failed or cancelled jobs and filters RetryJobs takes, saying which filter keeps it away", async () => {
    const { context, page } = await f.open({ token: f.tokens.admin });
    try {
      const hint = page.locator("[data-retry-hint]");
      await openJobs(page, `?status=failed&queue=${queue}&worker=retry-worker-${queue}&attempts=1`);
      expect(await hint.textContent()).toBe(
        "Retry matching jobs is not offered with the filters worker id and at least attempts: RetryJobs selects failed and cancelled jobs by status, queue, type, finished time and text only.",
      );
      expect(await control(page).count()).toBe(0);
      await openJobs(page, `?status=cancelled&status=completed&queue=${queue}`);
      expect(await hint.textContent()).toMatch(/^Retry matching jobs is not offered with the filter status completed: /);
      expect(await control(page).count()).toBe(0);
      // No failed or cancelled status asked for: neither offered nor explained.
      await openJobs(page, `?queue=${queue}`);
      expect(await hint.count()).toBe(0);
      expect(await control(page).count()).toBe(0);

      // The finished range reaches RetryJobs as the list has it: nothing of the queue had finished before it was seeded.
      await openJobs(page, `?status=failed&status=cancelled&queue=${queue}&finished_to=${r.seeded.toISOString()}&order=oldest`);
      await control(page).getByRole("button", { name: "Retry matching jobs" }).click();
      await expect
        .poll(() => control(page).getByRole("status").textContent())
        .toBe("No job to retry: none of the jobs these filters select is failed or cancelled now.");
      expect(await control(page).getByRole("button").allTextContents()).toEqual(["Retry matching jobs"]);
    } finally {
      await context.close();
    }
  });

  it("counts the failed and cancelled jobs a filter selects, retries them on confirmation, and they run again", async () => {
    const { context, page } = await f.open({ token: f.tokens.admin });
    try {
      const chosen = [...r.upstream, ...r.cancelled];
      await openJobs(page, `?status=failed&status=cancelled&queue=${queue}&text=upstream`);
      await expect.poll(() => sortedRowIds(page)).toEqual(ids(chosen));
      await control(page).getByRole("button", { name: "Retry matching jobs" }).click();
      const status = control(page).getByRole("status");
      await expect.poll(() => status.textContent()).toBe("5 jobs would be retried, oldest first, with fresh attempts.");
      // The count is a dry run: nothing moved.
      expect(await statuses(chosen)).toEqual([JobStatus.FAILED, JobStatus.FAILED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.CANCELLED]);
      await expectAccessible(page);

      outage = false;
      await control(page).getByRole("button", { name: "Retry 5 jobs" }).click();
      await expect.poll(() => status.textContent()).toBe("Retried 5 jobs.");
      // The confirm button is gone; focus is on the line that reports the retry.
      expect(await page.evaluate(() => document.activeElement?.className)).toBe("retry-status");
      // Each ran again, and completed; the job the text did not select is still failed.
      await expect.poll(() => statuses(chosen), { timeout: 30_000 }).toEqual(chosen.map(() => JobStatus.COMPLETED));
      expect((await f.admin.get(r.other.id)).status).toBe(JobStatus.FAILED);
      const types = async (j: Job) => (await f.admin.events(j.id)).map((e) => enumText(JobEventTypeSchema, e.type));
      expect(await types(r.upstream[0]!)).toEqual(["submitted", "started", "failed", "retried", "started", "completed"]);
      expect(await types(r.cancelled[0]!)).toEqual(["submitted", "cancelled", "retried", "started", "completed"]);
      expect((await f.admin.events(r.upstream[0]!.id)).find((e) => enumText(JobEventTypeSchema, e.type) === "retried")?.actor).toBe("api:ops");
      const [action] = await f.admin.operatorActions({ action: "jobs.retry", target: queue });
      expect(action).toMatchObject({ actor: "api:ops", details: { count: 5, limit: 1_000, queues: [queue], statuses: ["FAILED", "CANCELLED"], text_query: "upstream" } });
      // The list is read again: the retried jobs are no longer failed or cancelled.
      await page.getByText("No job matches these filters.").waitFor();
      await expectAccessible(page);
      await screenshot(page, "jobs-retry");
    } finally {
      await context.close();
    }
  });

  it("keeps a failed-jobs page current when a job on it is retried elsewhere: its row follows it out of the status", async () => {
    const { context, page } = await f.open({ token: f.tokens.reader });
    try {
      await openJobs(page, `?status=failed&queue=${queue}`);
      await expect.poll(() => sortedRowIds(page)).toEqual([r.other.id]);
      await page.locator('[data-live="live"]').waitFor();
      await page.evaluate(() => ((window as unknown as { stillHere: boolean }).stillHere = true));
      const row = page.locator(`tr[data-job-id="${r.other.id}"]`);
      expect(await row.locator('[data-cell="status"]').textContent()).toBe("failed");

      outage = false;
      await f.admin.retry(r.other.id);
      // The filtered stream sends no job that left FAILED; the row follows it by id.
      await expect.poll(() => row.locator('[data-cell="status"]').textContent(), { timeout: 15_000 }).toBe("completed");
      expect((await f.admin.get(r.other.id)).status).toBe(JobStatus.COMPLETED);
      expect(await page.evaluate(() => (window as unknown as { stillHere?: boolean }).stillHere)).toBe(true);
    } finally {
      await context.close();
    }
  });
});

/** The value `<input type="datetime-local" step="1">` shows for `d` in the browser's (and this process's) time zone. */
function localInput(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
