import { readFile } from "node:fs/promises";
import { createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { HistoryService, type Job } from "@taskflow/proto";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PHONE, expectAccessible, expectNoPageOverflow, screenshot, startDashboardFixture, type DashboardFixture } from "./dashboard-fixture.js";

let f: DashboardFixture;
let seeded: Job[];
/** Queue pauses and resumes seeded, enough for more than one page of operator actions (50). */
const BULK_TOGGLES = 27;

beforeAll(async () => {
  f = await startDashboardFixture();
  seeded = await f.admin.submitMany([
    ...Array.from({ length: 3 }, (_, i) => ({ type: "echo", queue: "emails", payload: { to: `user${i}@example.com` } })),
    { type: "fail", queue: "reports", payload: { message: "report generator crashed" }, maxAttempts: 1 },
  ]);
  for (const j of seeded) await f.admin.waitFor(j.id, { timeoutMs: 15_000 });
  await f.admin.createSchedule({ id: "audit-sched", intervalMs: 3_600_000, template: { type: "echo" } });
  await f.admin.pauseSchedule("audit-sched");
  for (let i = 0; i < BULK_TOGGLES; i++) {
    await f.admin.pauseQueue("bulk");
    await f.admin.resumeQueue("bulk");
  }
});

afterAll(async () => {
  await f?.close();
});

/** `d` as a datetime-local input holds it, in the page's time zone, to the second. */
const localInput = (page: Page, d: Date): Promise<string> =>
  page.evaluate((ms) => {
    const t = new Date(ms);
    const pad = (n: number) => String(n).padStart(2, "0");
    return `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}T${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`;
  }, d.getTime());

/** Every NDJSON line the API exports for the range, as text. */
async function apiExport(query: { from: Date; to: Date; queues?: string[] }): Promise<string[]> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of f.admin.exportAuditTrail(query)) text += decoder.decode(chunk, { stream: true });
  return text.split("\n").filter((l) => l !== "");
}

/** Exports [from, to) from the page and reads the file it downloads. */
async function exportFromPage(page: Page, from: Date, to: Date, queues = ""): Promise<{ fileName: string; lines: string[]; shown: string }> {
  await page.getByLabel("From", { exact: true }).fill(await localInput(page, from));
  await page.getByLabel("To", { exact: true }).fill(await localInput(page, to));
  await page.getByLabel("Queues", { exact: true }).fill(queues);
  await page.getByRole("button", { name: "Export NDJSON" }).click();
  const link = page.getByRole("link", { name: /^Download taskflow-audit-/ });
  await link.waitFor();
  const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
  const text = await readFile(await download.path(), "utf8");
  const shown = (await page.locator("form.audit-export [role=status]").textContent()) ?? "";
  return { fileName: download.suggestedFilename(), lines: text.split("\n").filter((l) => l !== ""), shown };
}

describe("audit export", () => {
  it("exports a time range as an NDJSON file of the range's job events, as the API exports it", async () => {
    const { context, page } = await f.open({ token: f.tokens.reader });
    try {
      await page.goto("/audit");
      // The default range: the last 24 hours.
      const [from0, to0] = await Promise.all([page.getByLabel("From", { exact: true }).inputValue(), page.getByLabel("To", { exact: true }).inputValue()]);
      expect(new Date(to0).getTime() - new Date(from0).getTime()).toBe(86_400_000);

      const to = new Date(Math.ceil(Date.now() / 1_000) * 1_000 + 60_000);
      const from = new Date(to.getTime() - 3_600_000);
      const all = await exportFromPage(page, from, to);
      expect(all.fileName).toBe(`taskflow-audit-${fileTime(from)}-${fileTime(to)}.ndjson`);
      const events = all.lines.map((l) => JSON.parse(l) as { jobId: string; type: string; occurredAt: string; jobType: string; jobQueue: string });
      const expected = await apiExport({ from, to });
      expect(all.lines.length).toBe(expected.length);
      expect(all.lines).toEqual(expected);
      expect(all.shown).toMatch(new RegExp(`^${all.lines.length} events exported \\(`));
      for (const j of seeded) {
        const mine = events.filter((e) => e.jobId === j.id);
        expect(mine.map((e) => e.type)).toEqual(
          j.type === "fail"
            ? ["JOB_EVENT_TYPE_SUBMITTED", "JOB_EVENT_TYPE_STARTED", "JOB_EVENT_TYPE_FAILED"]
            : ["JOB_EVENT_TYPE_SUBMITTED", "JOB_EVENT_TYPE_STARTED", "JOB_EVENT_TYPE_COMPLETED"],
        );
        expect(mine.every((e) => e.jobType === j.type && e.jobQueue === j.queue)).toBe(true);
      }
      for (const e of events) expect(new Date(e.occurredAt).getTime()).toBeGreaterThanOrEqual(from.getTime());
      // The preview holds the file's first lines.
      expect((await page.locator("pre.preview").textContent())?.split("\n")).toEqual(all.lines.slice(0, 5));
      await expectAccessible(page);
      await screenshot(page, "audit");

      // A queue filter: only the events of that queue's jobs.
      const reports = await exportFromPage(page, from, to, "reports");
      expect(reports.lines).toEqual(await apiExport({ from, to, queues: ["reports"] }));
      expect(new Set(reports.lines.map((l) => (JSON.parse(l) as { jobId: string }).jobId))).toEqual(new Set([seeded[3]!.id]));

      // A range before the jobs: an empty file, said so.
      const before = await exportFromPage(page, new Date(from.getTime() - 7_200_000), from);
      expect(before.lines).toEqual([]);
      expect(before.shown).toMatch(/^0 events exported/);
    } finally {
      await context.close();
    }
  });

  it("says so when the range is empty or reversed, exporting nothing", async () => {
    const { context, page } = await f.open({ token: f.tokens.reader });
    try {
      await page.goto("/audit");
      const now = new Date();
      await page.getByLabel("From", { exact: true }).fill(await localInput(page, now));
      await page.getByLabel("To", { exact: true }).fill(await localInput(page, new Date(now.getTime() - 60_000)));
      await page.getByRole("button", { name: "Export NDJSON" }).click();
      await expect.poll(() => page.getByRole("alert").textContent()).toBe("The range is empty: “From” must be before “To”.");
      expect(await page.getByRole("link", { name: /^Download/ }).count()).toBe(0);
    } finally {
      await context.close();
    }
  });
});

/** `20261207T160500Z`, as the page names the file. */
const fileTime = (d: Date): string => d.toISOString().replace(/\.\d{3}/, "").replace(/[-:]/g, "");

const rows = (page: Page) => page.locator("table.operator-actions tbody tr");
const rowIds = (page: Page) => rows(page).evaluateAll((rs) => rs.map((r) => r.getAttribute("data-action-id") ?? ""));

describe("operator actions", () => {
  it("lists what operators did with the actor, page by page as history answers, filtered through the URL, live", async () => {
    const { context, page } = await f.open({ token: f.tokens.reader });
    try {
      await page.goto("/audit");
      // The pages as history answers them to the same calls (50 at a time).
      const bearer: Interceptor = (next) => (req) => {
        req.header.set("authorization", `Bearer ${f.tokens.reader}`);
        return next(req);
      };
      const history = createClient(HistoryService, createConnectTransport({ baseUrl: f.stack.historyUrl, interceptors: [bearer] }));
      const first = await history.listOperatorActions({ pageSize: 50 });
      expect(first.actions).toHaveLength(50);
      const second = await history.listOperatorActions({ pageSize: 50, pageToken: first.nextPageToken });
      expect(second.nextPageToken).toBe("");
      await expect.poll(() => rowIds(page)).toEqual(first.actions.map((a) => a.id.toString()));
      await page.getByRole("link", { name: "Older" }).click();
      await expect.poll(() => rowIds(page)).toEqual(second.actions.map((a) => a.id.toString()));
      expect(new URL(page.url()).searchParams.get("page")).toBe(first.nextPageToken);
      expect(await page.getByRole("link", { name: "Older" }).count()).toBe(0);
      await page.getByRole("link", { name: "Newest" }).click();
      await expect.poll(() => rowIds(page)).toEqual(first.actions.map((a) => a.id.toString()));

      // Filter by target: the page goes back to the first, the URL keeps the filter.
      await page.getByLabel("Target", { exact: true }).fill("schedule:audit-sched");
      await page.getByRole("button", { name: "Filter" }).click();
      await expect.poll(() => new URL(page.url()).searchParams.get("target")).toBe("schedule:audit-sched");
      await expect.poll(() => rows(page).evaluateAll((rs) => rs.map((r) => r.getAttribute("data-action")))).toEqual(["schedule.pause", "schedule.create"]);
      expect(new URL(page.url()).searchParams.get("page")).toBeNull();
      const pause = page.locator('tr[data-action="schedule.pause"][data-target="schedule:audit-sched"]');
      expect(await pause.locator("td").allTextContents()).toEqual([expect.any(String), "api:ops", "schedule.pause", "schedule:audit-sched", "{}"]);
      expect(await pause.getByRole("link", { name: "schedule:audit-sched" }).getAttribute("href")).toBe("/schedules?schedule=audit-sched");
      // Live: a resume through the API shows up without a reload.
      await f.admin.resumeSchedule("audit-sched");
      await expect.poll(() => rows(page).first().locator("td").nth(2).textContent(), { timeout: 10_000 }).toBe("schedule.resume");

      // Filter by action, from the URL alone.
      await page.goto("/audit?action=queue.pause");
      await expect.poll(() => rowIds(page)).toEqual((await f.admin.operatorActions({ action: "queue.pause" })).map((a) => a.id.toString()));
      expect(await page.getByLabel("Action", { exact: true }).inputValue()).toBe("queue.pause");
      expect(new Set(await rows(page).evaluateAll((rs) => rs.map((r) => r.getAttribute("data-target"))))).toEqual(new Set(["bulk"]));
      await page.getByRole("button", { name: "Clear filters" }).click();
      await expect.poll(() => new URL(page.url()).search).toBe("");
      await expectAccessible(page);
    } finally {
      await context.close();
    }
  });

  it("is readable on a phone-sized screen", async () => {
    const { context, page } = await f.open({ token: f.tokens.reader, viewport: PHONE });
    try {
      await page.goto("/audit?target=schedule:audit-sched");
      await rows(page).first().waitFor();
      await expectNoPageOverflow(page);
      await expectAccessible(page);
      await screenshot(page, "audit-phone");
    } finally {
      await context.close();
    }
  });
});
