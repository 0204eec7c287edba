import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "@taskflow/testkit";
import type { Job } from "@taskflow/proto";
import type { Page } from "playwright-core";
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

/** The value `<input type="datetime-local" step="1">` shows for `d` in the browser's (and this process's) time zone. */
function localInput(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
