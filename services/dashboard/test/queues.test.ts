import { durationMs } from "@bufbuild/protobuf/wkt";
import { JobEventTypeSchema, JobStatus, enumText } from "@taskflow/proto";
import { uniqueQueue } from "@taskflow/testkit";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PHONE, expectAccessible, expectNoPageOverflow, screenshot, startDashboardFixture, type DashboardFixture } from "./dashboard-fixture.js";

let f: DashboardFixture;

beforeAll(async () => {
  f = await startDashboardFixture();
  const done = await f.admin.submitMany(Array.from({ length: 4 }, (_, i) => ({ type: "echo", queue: "emails", payload: { n: i } })));
  for (const j of done) await f.admin.waitFor(j.id, { timeoutMs: 15_000 });
  // Waiting work: a queue no worker serves, and a delayed job.
  await f.admin.submitMany(Array.from({ length: 3 }, () => ({ type: "echo", queue: "unserved" })));
  await f.admin.submit({ type: "echo", queue: "emails", delayMs: 3_600_000 });
});

afterAll(async () => {
  await f?.close();
});

/** The limits of `queue` (or of its jobs of `type`) as the API reports them, as plain numbers. */
async function limitsOf(queue: string, type?: string) {
  const q = await f.admin.queue(queue);
  const l = type === undefined ? q.limits : q.typeLimits.find((t) => t.type === type)?.limits;
  return { maxRunning: l?.maxRunning ?? 0, maxStarts: l?.maxStarts ?? 0, perMs: l?.per === undefined ? 0 : durationMs(l.per) };
}

const cells = (page: Page, queue: string) => page.locator(`tr[data-queue="${queue}"] td`);
const form = (page: Page, queue: string) => page.getByRole("form", { name: `Limits of ${queue}` });

describe("queues", () => {
  it("lists every queue's counts, pause and limits, and follows new work without a reload", async () => {
    const { context, page } = await f.open({ token: f.tokens.reader });
    try {
      await page.goto("/queues");
      // Ready, delayed, running, parked, outbox, paused, limits, type limits.
      await expect.poll(() => cells(page, "emails").allTextContents()).toEqual(["0", "1", "0", "0", "0", "no", "none", "none", "Jobs"]);
      await expect.poll(() => cells(page, "unserved").allTextContents()).toEqual(["3", "0", "0", "0", "0", "no", "none", "none", "Jobs"]);
      expect(await page.getByRole("link", { name: "Jobs in unserved" }).getAttribute("href")).toBe("/jobs?queue=unserved");

      const job = await f.admin.submit({ type: "echo", queue: "unserved" });
      await expect.poll(() => cells(page, "unserved").first().textContent(), { timeout: 10_000 }).toBe("4");
      await f.admin.cancel(job.id);
      await expect.poll(() => cells(page, "unserved").first().textContent(), { timeout: 10_000 }).toBe("3");

      // Picking a queue opens it below, with its counts, and moves focus to it.
      await page.getByRole("link", { name: "unserved", exact: true }).click();
      await expect.poll(() => new URL(page.url()).searchParams.get("queue")).toBe("unserved");
      const detail = page.locator('[data-queue-detail="unserved"]');
      await expect.poll(() => detail.locator('[data-count="Ready"] dd').textContent()).toBe("3");
      await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe("Queue unserved");
      await detail.getByText("Not paused").waitFor();
      await detail.getByText("No operator has paused, resumed or limited unserved.").waitFor();
    } finally {
      await context.close();
    }
  });

  it("pauses and resumes a queue, showing who paused it and the actions taken", async () => {
    const { context, page } = await f.open({ token: f.tokens.admin });
    try {
      await page.goto("/queues?queue=unserved");
      const detail = page.locator('[data-queue-detail="unserved"]');
      await detail.getByRole("button", { name: "Pause" }).click();
      await expect.poll(async () => (await f.admin.queue("unserved")).paused).toBe(true);
      expect((await f.admin.queue("unserved")).pausedBy).toBe("api:ops");
      await expect.poll(() => detail.locator('[data-pause="paused"]').textContent()).toMatch(/paused since .+ by api:ops/);
      await expect.poll(() => page.locator('tr[data-queue="unserved"] td[data-col="paused"]').textContent()).toMatch(/^paused by api:ops/);
      const pauseAction = detail.locator('tr[data-action="queue.pause"] td');
      await expect.poll(() => pauseAction.nth(1).textContent()).toBe("api:ops");
      await expectAccessible(page);
      await screenshot(page, "queues");

      await detail.getByRole("button", { name: "Resume" }).click();
      await expect.poll(async () => (await f.admin.queue("unserved")).paused).toBe(false);
      await detail.locator('[data-pause="running"]').waitFor();
      await expect.poll(() => detail.locator("tr[data-action] td:nth-child(3)").allTextContents()).toEqual(["queue.resume", "queue.pause"]);
      expect((await f.admin.operatorActions({ target: "unserved" })).map((a) => [a.action, a.actor])).toEqual([
        ["queue.resume", "api:ops"],
        ["queue.pause", "api:ops"],
      ]);
    } finally {
      await context.close();
    }
  });

  it("sets and clears queue-wide and per-type limits, and refuses bad input before sending it", async () => {
    const { context, page } = await f.open({ token: f.tokens.admin });
    try {
      await page.goto("/queues?queue=emails");
      const limits = form(page, "emails");
      await limits.getByLabel("Max running").fill("5");
      await limits.getByLabel("Max starts").fill("10");
      await limits.getByLabel("Per", { exact: true }).fill("2");
      await limits.getByRole("button", { name: "Set limits" }).click();
      await expect.poll(() => limitsOf("emails")).toEqual({ maxRunning: 5, maxStarts: 10, perMs: 2_000 });
      await expect.poll(() => limits.getByRole("status").textContent()).toBe("Limits of emails: at most 5 running, at most 10 starts per 2 s");
      await expect.poll(() => page.locator('[data-limits="queue"] td').first().textContent()).toBe("at most 5 running, at most 10 starts per 2 s");

      // A job type's limits, the window in milliseconds; the type first, as it shows the type's own (none yet).
      await limits.getByLabel("Job type").fill("echo");
      expect(await limits.getByLabel("Max running").inputValue()).toBe("");
      await limits.getByLabel("Max running").fill("2");
      await limits.getByLabel("Max starts").fill("3");
      await limits.getByLabel("Per", { exact: true }).fill("1500");
      await limits.getByLabel("Unit of per").selectOption("ms");
      await limits.getByRole("button", { name: "Set limits" }).click();
      await expect.poll(() => limitsOf("emails", "echo")).toEqual({ maxRunning: 2, maxStarts: 3, perMs: 1_500 });
      expect(await limitsOf("emails")).toEqual({ maxRunning: 5, maxStarts: 10, perMs: 2_000 });
      await expect.poll(() => page.locator('[data-limits="type:echo"] td').allTextContents()).toEqual(["at most 2 running, at most 3 starts per 1500 ms", "0"]);
      await expect.poll(() => cells(page, "emails").nth(7).textContent()).toBe("echo: at most 2 running, at most 3 starts per 1500 ms (0 running now)");

      // Bad input: said at once, nothing sent.
      const before = await f.admin.queue("emails");
      const problem = limits.getByRole("alert");
      await limits.getByLabel("Job type").fill("");
      await limits.getByLabel("Max running").fill("-1");
      await limits.getByRole("button", { name: "Set limits" }).click();
      await expect.poll(() => problem.textContent()).toBe("Max running must be a whole number, 0 or more (empty: 0).");
      expect(await limits.getByLabel("Max running").getAttribute("aria-invalid")).toBe("true");
      await limits.getByLabel("Max running").fill("1");
      await limits.getByLabel("Max starts").fill("4");
      await limits.getByLabel("Per", { exact: true }).fill("");
      await limits.getByRole("button", { name: "Set limits" }).click();
      await expect.poll(() => problem.textContent()).toBe("Per is required with max starts: the window the starts are counted in.");
      await limits.getByLabel("Max starts").fill("0");
      await limits.getByLabel("Per", { exact: true }).fill("abc");
      await limits.getByRole("button", { name: "Set limits" }).click();
      await expect.poll(() => problem.textContent()).toBe("Per is the window of max starts: leave it empty without max starts.");
      await expectAccessible(page);
      // What the service refuses is said in its words, and changes nothing either.
      await limits.getByLabel("Per", { exact: true }).fill("");
      await limits.getByLabel("Max running").fill("100001");
      await limits.getByRole("button", { name: "Set limits" }).click();
      await expect.poll(() => problem.textContent()).toBe("invalid_argument: limits.max_running: must be from 0 to 100000");
      await limits.getByLabel("Job type").fill("not a type!");
      await limits.getByLabel("Max running").fill("1");
      await limits.getByRole("button", { name: "Set limits" }).click();
      await expect.poll(() => problem.textContent()).toMatch(/^invalid_argument: type: must be empty or a job type/);
      const after = await f.admin.queue("emails");
      expect(after.limits).toEqual(before.limits);
      expect(after.typeLimits.map((t) => t.limits)).toEqual(before.typeLimits.map((t) => t.limits));
      expect((await f.admin.operatorActions({ target: "emails", action: "queue.limits" })).length).toBe(2);

      // Clearing: the type's, then the queue's.
      await limits.getByLabel("Job type").fill("echo");
      await limits.getByRole("button", { name: "Clear limits" }).click();
      await expect.poll(async () => (await f.admin.queue("emails")).typeLimits).toEqual([]);
      expect(await limitsOf("emails")).toEqual({ maxRunning: 5, maxStarts: 10, perMs: 2_000 });
      await limits.getByLabel("Job type").fill("");
      await limits.getByRole("button", { name: "Clear limits" }).click();
      await expect.poll(async () => (await f.admin.queue("emails")).limits).toBeUndefined();
      await expect.poll(() => page.locator('[data-limits="queue"] td').first().textContent()).toBe("none");
      await expect.poll(() => page.locator('tr[data-action="queue.limits"] td:nth-child(4)').allTextContents()).toEqual([
        "no limits",
        "type echo: no limits",
        "type echo: at most 2 running, at most 3 starts per 1500 ms",
        "at most 5 running, at most 10 starts per 2 s",
      ]);
    } finally {
      await context.close();
    }
  });

  it("shows a reader's refusal in the service's words and changes nothing", async () => {
    const { context, page } = await f.open({ token: f.tokens.reader });
    try {
      await page.goto("/queues?queue=unserved");
      const detail = page.locator('[data-queue-detail="unserved"]');
      await detail.getByRole("button", { name: "Pause" }).click();
      await expect
        .poll(() => detail.locator(".action").getByRole("alert").textContent())
        .toBe("Refused: viewer may not call taskflow.v1.QueueService/PauseQueue: it needs the role admin");
      expect((await f.admin.queue("unserved")).paused).toBe(false);

      const limits = form(page, "unserved");
      await limits.getByLabel("Max running").fill("1");
      await limits.getByRole("button", { name: "Set limits" }).click();
      await expect.poll(() => limits.getByRole("alert").textContent()).toBe("Refused: viewer may not call taskflow.v1.QueueService/SetQueueLimits: it needs the role admin");
      expect((await f.admin.queue("unserved")).limits).toBeUndefined();
      expect((await f.admin.operatorActions({ target: "unserved" })).length).toBe(2);
      await expectAccessible(page);
    } finally {
      await context.close();
    }
  });

  it("starts the limits form from the limits in force, and shows a job type's when the type changes", async () => {
    const queue = uniqueQueue();
    await f.admin.submit({ type: "echo", queue });
    await f.admin.setQueueLimits(queue, { maxRunning: 4, maxStarts: 6, perMs: 1_500 });
    await f.admin.setQueueLimits(queue, { maxStarts: 3, perMs: 2_000 }, "pdf");
    await f.admin.setQueueLimits(queue, { maxRunning: 2 }, "echo");
    const { context, page } = await f.open({ token: f.tokens.admin });
    try {
      await page.goto(`/queues?queue=${queue}`);
      const limits = form(page, queue);
      const fields = async () =>
        Promise.all(["Max running", "Max starts", "Per", "Unit of per", "Job type"].map((l) => limits.getByLabel(l, { exact: true }).inputValue()));
      await expect.poll(fields).toEqual(["4", "6", "1500", "ms", ""]);
      await limits.getByLabel("Job type").fill("pdf");
      expect(await fields()).toEqual(["", "3", "2", "s", "pdf"]);
      await limits.getByLabel("Job type").fill("echo");
      expect(await fields()).toEqual(["2", "", "", "s", "echo"]);
      await limits.getByLabel("Job type").fill("report");
      expect(await fields()).toEqual(["", "", "", "s", "report"]);
      await limits.getByLabel("Job type").fill("");
      expect(await fields()).toEqual(["4", "6", "1500", "ms", ""]);
      await expectAccessible(page);

      // One field changed, the others kept: what was in force stays.
      await limits.getByLabel("Max running").fill("5");
      await limits.getByRole("button", { name: "Set limits" }).click();
      await expect.poll(() => limitsOf(queue)).toEqual({ maxRunning: 5, maxStarts: 6, perMs: 1_500 });
      await limits.getByLabel("Job type").fill("pdf");
      await limits.getByLabel("Max starts").fill("4");
      await limits.getByRole("button", { name: "Set limits" }).click();
      await expect.poll(() => limitsOf(queue, "pdf")).toEqual({ maxRunning: 0, maxStarts: 4, perMs: 2_000 });
      expect(await limitsOf(queue, "echo")).toEqual({ maxRunning: 2, maxStarts: 0, perMs: 0 });
      // Cleared, the fields show none.
      await limits.getByRole("button", { name: "Clear limits" }).click();
      await expect.poll(async () => (await f.admin.queue(queue)).typeLimits.map((t) => t.type)).toEqual(["echo"]);
      await expect.poll(fields).toEqual(["", "", "", "s", "pdf"]);
      expect(await limitsOf(queue)).toEqual({ maxRunning: 5, maxStarts: 6, perMs: 1_500 });

      // A new look at the queue starts from what is in force now, for a reader too.
      const other = await f.open({ token: f.tokens.reader });
      try {
        await other.page.goto(`/queues?queue=${queue}`);
        await expect.poll(() => form(other.page, queue).getByLabel("Max running").inputValue()).toBe("5");
        expect(await form(other.page, queue).getByLabel("Per", { exact: true }).inputValue()).toBe("1500");
      } finally {
        await other.context.close();
      }
    } finally {
      await context.close();
    }
  });

  it("lists a queue's parked entries with history's refusal, and replays them: what history records leaves the list", async () => {
    const queue = uniqueQueue();
    const [refused, cancel, later] = await f.admin.submitMany([1, 2, 3].map((n) => ({ type: "echo", queue, payload: { n } })));
    await f.parkRefusedEntry(queue, refused!.id);
    await f.parkReplayableEntry(queue, cancel!.id, "history was down");
    const refusal = (await f.admin.parkedEvents(queue)).find((e) => e.jobId === refused!.id)!.error;
    expect(refusal).toMatch(/type/);
    const { context, page } = await f.open({ token: f.tokens.admin });
    try {
      await page.goto(`/queues?queue=${queue}`);
      const parked = page.locator(`[data-parked="${queue}"]`);
      const rows = () =>
        parked.locator("tbody tr").evaluateAll((trs) =>
          trs.map((tr) => ["job", "seq", "event", "status", "error"].map((c) => tr.querySelector(`[data-cell="${c}"]`)?.textContent ?? "")),
        );
      await expect.poll(rows).toEqual([
        [refused!.id, "2", "EXPLODED", "PENDING", refusal],
        [cancel!.id, "2", "CANCELLED", "CANCELLED", "history was down"],
      ]);
      expect(await parked.getByRole("link", { name: cancel!.id }).getAttribute("href")).toBe(`/jobs/${cancel!.id}`);
      await expect.poll(() => page.locator('[data-count="Parked"] dd').textContent()).toBe("2");
      await expectAccessible(page);

      // One entry: history records the cancel, and the entry leaves the list.
      await parked.locator(`tr[data-job-id="${cancel!.id}"]`).getByRole("button", { name: /^Replay entry / }).click();
      const outcome = parked.locator("[data-replay-outcome]");
      await expect.poll(() => outcome.locator("[data-replay-summary]").textContent()).toBe("Replayed 1 entry; 0 still parked; 0 not found.");
      expect((await f.admin.parkedEvents(queue)).map((e) => e.jobId)).toEqual([refused!.id]);
      expect((await f.admin.events(cancel!.id)).map((e) => [e.seq, enumText(JobEventTypeSchema, e.type), e.actor])).toEqual([
        [1, "submitted", "api:ops"],
        [2, "cancelled", "api:ops"],
      ]);
      expect((await f.admin.get(cancel!.id)).status).toBe(JobStatus.CANCELLED);
      await expect.poll(async () => (await rows()).map((r) => r[0])).toEqual([refused!.id]);

      // Replay all: the one history takes leaves, the one it refuses again stays, with the new error.
      await f.parkReplayableEntry(queue, later!.id, "history was down");
      await expect.poll(async () => (await rows()).map((r) => r[0]), { timeout: 15_000 }).toEqual([refused!.id, later!.id]);
      await parked.getByRole("button", { name: "Replay all" }).click();
      await expect.poll(() => outcome.locator("[data-replay-summary]").textContent()).toBe("Replayed 1 entry; 1 still parked; 0 not found.");
      expect(await outcome.getByRole("list", { name: "Still parked" }).textContent()).toBe(`job ${refused!.id} seq 2 EXPLODED: ${refusal}`);
      const left = await f.admin.parkedEvents(queue);
      expect(left.map((e) => [e.jobId, e.error])).toEqual([[refused!.id, refusal]]);
      expect((await f.admin.get(later!.id)).status).toBe(JobStatus.CANCELLED);
      expect((await f.admin.get(refused!.id)).status).toBe(JobStatus.PENDING);
      await expect.poll(async () => (await rows()).map((r) => r[0])).toEqual([refused!.id]);
      await expect.poll(() => page.locator('[data-count="Parked"] dd').textContent()).toBe("1");
      await expectAccessible(page);
      await screenshot(page, "queues-parked");
    } finally {
      await context.close();
    }
  });

  it("pages parked entries 50 at a time in the URL, and replays them all", async () => {
    const queue = uniqueQueue();
    const jobs = await f.admin.submitMany(Array.from({ length: 51 }, (_, n) => ({ type: "echo", queue, payload: { n } })));
    for (const j of jobs) await f.parkReplayableEntry(queue, j.id, "history was down");
    const { context, page } = await f.open({ token: f.tokens.admin });
    try {
      await page.goto(`/queues?queue=${queue}`);
      const parked = page.locator(`[data-parked="${queue}"]`);
      const jobIds = () => parked.locator("tbody tr").evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset["jobId"] ?? ""));
      await expect.poll(jobIds).toEqual(jobs.slice(0, 50).map((j) => j.id));
      await parked.getByRole("link", { name: "Next 50" }).click();
      await expect.poll(jobIds).toEqual([jobs[50]!.id]);
      expect(new URL(page.url()).searchParams.get("parked_page")).not.toBeNull();
      expect(new URL(page.url()).searchParams.get("queue")).toBe(queue);
      await parked.getByRole("button", { name: "Replay all" }).click();
      await expect.poll(() => parked.locator("[data-replay-summary]").textContent()).toBe("Replayed 51 entries; 0 still parked; 0 not found.");
      expect(await f.admin.parkedEvents(queue)).toEqual([]);
      const statuses = await Promise.all(jobs.map(async (j) => (await f.admin.get(j.id)).status));
      expect(statuses).toEqual(jobs.map(() => JobStatus.CANCELLED));
      await parked.getByRole("link", { name: "Oldest" }).click();
      await parked.locator("[data-parked-empty]").getByText(`No parked entries: history holds every transition of ${queue}.`).waitFor();
    } finally {
      await context.close();
    }
  });

  it("shows a reader the refusal to list parked entries in place of the list", async () => {
    const queue = uniqueQueue();
    const job = await f.admin.submit({ type: "echo", queue });
    await f.parkRefusedEntry(queue, job.id);
    const { context, page } = await f.open({ token: f.tokens.reader });
    try {
      await page.goto(`/queues?queue=${queue}`);
      const parked = page.locator(`[data-parked="${queue}"]`);
      await expect
        .poll(() => parked.getByRole("alert").textContent())
        .toBe("Refused: viewer may not call taskflow.v1.AdminService/ListParkedEvents: it needs the role admin");
      // The rest of the queue is there, its parked count too.
      await expect.poll(() => page.locator('[data-count="Parked"] dd').textContent()).toBe("1");
      expect(await parked.locator("table").count()).toBe(0);
      expect(await parked.getByRole("button").count()).toBe(0);
      expect((await f.admin.parkedEvents(queue)).map((e) => e.jobId)).toEqual([job.id]);
      await expectAccessible(page);
    } finally {
      await context.close();
    }
  });

  it("is readable on a phone-sized screen", async () => {
    const { context, page } = await f.open({ token: f.tokens.admin, viewport: PHONE });
    try {
      await page.goto("/queues?queue=unserved");
      await page.locator('tr[data-queue="unserved"]').waitFor();
      await page.locator('[data-queue-detail="unserved"] tr[data-action]').first().waitFor();
      await expectNoPageOverflow(page);
      await expectAccessible(page);
      await screenshot(page, "queues-phone");
    } finally {
      await context.close();
    }
  });
});
