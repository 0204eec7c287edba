import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createTaskFlowClient, type TaskFlowClient } from "@taskflow/client";
import { startInProcessStack, type InProcessStack } from "@taskflow/test-stack";
import { eventually, testRedisUrl } from "@taskflow/testkit";
import { createWorker, type Worker } from "@taskflow/worker-sdk";
import { Redis } from "ioredis";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { pino } from "pino";
import { expect } from "vitest";
import { APP_DIR, startDashboardServer, type DashboardServer } from "../src/server/index.js";

/** Tokens of the roles the dashboard meets: a reader sees everything; `admin` is an operator with admin, submitter and reader. */
export interface Tokens {
  reader: string;
  admin: string;
  submitter: string;
  worker: string;
}

/** A stack with authentication on, a worker, the dashboard in front of it, and Chromium. */
export interface DashboardFixture {
  stack: InProcessStack;
  dashboard: DashboardServer;
  browser: Browser;
  tokens: Tokens;
  /** A client with the admin token, to seed and to check through the API what the pages did. */
  admin: TaskFlowClient;
  /** A client with the reader token. */
  reader: TaskFlowClient;
  /** A worker (id `dash-worker`) running `echo`, `fail` (throws `payload.message`), `slow` (reports progress, waits `payload.ms`). */
  worker: Worker;
  /** A new browser context at 1280×800 (or `viewport`), signed in with `token` when given. */
  open(opts?: { token?: string; viewport?: { width: number; height: number } }): Promise<{ context: BrowserContext; page: Page }>;
  /**
   * Parks an entry history refuses: a transition of `jobId` (a pending job with only its
   * SUBMITTED event) of a type this history does not know, as a newer scheduler could write it,
   * added to `queue`'s outbox. The scheduler's forwarder sends it, history refuses it, and the
   * forwarder parks it; resolves once it is parked. Replaying it is refused again.
   */
  parkRefusedEntry(queue: string, jobId: string): Promise<void>;
  /**
   * Parks the cancel of `jobId` (a pending job with only its SUBMITTED event) at seq 2 with
   * `error`, as the forwarder parks an entry history refused: the entry's fields, `entry_id` and
   * `park_error` on the queue's parked stream. This history refuses no valid transition, so this
   * stands for one an older history refused; replaying it records the cancel.
   */
  parkReplayableEntry(queue: string, jobId: string, error: string): Promise<void>;
  close(): Promise<void>;
}

const here = fileURLToPath(new URL(".", import.meta.url));
/** Where the tests write their screenshots; CI keeps them with the run's output. */
export const SCREENSHOT_DIR = process.env["DASHBOARD_SCREENSHOT_DIR"] ?? join(here, "..", "..", "..", "artifacts", "dashboard");
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** Debian's Chromium (the browser the tests run in; never a downloaded one). */
export const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/**
 * Starts history and the scheduler with tokens enforced, a worker with the worker token, the
 * dashboard server in front of them on port 0, and headless Chromium.
 */
export async function startDashboardFixture(): Promise<DashboardFixture> {
  const dir = await mkdtemp(join(tmpdir(), "taskflow-dashboard-"));
  const tok = (): string => randomBytes(18).toString("base64url");
  const tokens: Tokens = { reader: tok(), admin: tok(), submitter: tok(), worker: tok() };
  const service = tok();
  await writeFile(
    join(dir, "tokens"),
    [
      `${tokens.reader} reader viewer`,
      `${tokens.admin} admin,submitter,reader ops`,
      `${tokens.submitter} submitter billing`,
      `${tokens.worker} worker fleet`,
      `${service} service scheduler`,
    ].join("\n"),
  );
  await writeFile(join(dir, "scheduler-token"), `${service}\n`);
  const auth = { AUTH_TOKENS_FILE: join(dir, "tokens") };
  const closers: (() => Promise<unknown>)[] = [() => rm(dir, { recursive: true, force: true })];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    // Leases of 3 s: workers beat every second, so the Workers page's current jobs and counts follow within seconds.
    const stack = await startInProcessStack({ ...auth, HISTORY_TOKEN_FILE: join(dir, "scheduler-token"), LEASE_MS: "3000" }, { historyEnv: auth });
    closers.push(() => stack.close());
    const client = (token: string) => createTaskFlowClient({ schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl, token });
    const admin = client(tokens.admin);
    const reader = client(tokens.reader);
    closers.push(() => Promise.all([admin.close(), reader.close()]));
    const worker = createWorker({
      scheduler: stack.schedulerUrl,
      token: tokens.worker,
      workerId: "dash-worker",
      queues: ["default", "emails", "reports"],
      handlers: {
        echo: (ctx) => Promise.resolve(ctx.payload),
        fail: (ctx) => Promise.reject(new Error(typeof ctx.payload["message"] === "string" ? ctx.payload["message"] : "failed")),
        slow: async (ctx) => {
          const ms = Number(ctx.payload["ms"] ?? 1_000);
          for (let p = 0; p <= 100; p += 25) {
            ctx.progress(p, { step: p / 25 });
            await new Promise((r) => setTimeout(r, ms / 5));
          }
          return { waited: ms };
        },
      },
      logger: pino({ level: "silent" }),
    });
    await worker.start();
    closers.push(() => worker.stop());
    const dashboard = await startDashboardServer(
      {
        host: "127.0.0.1",
        port: 0,
        schedulerUrl: stack.schedulerUrl,
        historyUrl: stack.historyUrl,
        schedulerCaFile: "",
        historyCaFile: "",
        logLevel: "silent",
        tls: { certFile: "", keyFile: "" },
      },
      APP_DIR,
      pino({ level: "silent" }),
    );
    closers.push(() => dashboard.close());
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    closers.push(() => browser.close());
    const open = async (opts: { token?: string; viewport?: { width: number; height: number } } = {}) => {
      const context = await browser.newContext({ viewport: opts.viewport ?? DESKTOP, baseURL: dashboard.url });
      if (opts.token !== undefined) await context.addInitScript((t) => sessionStorage.setItem("taskflow.token", t), opts.token);
      const page = await context.newPage();
      return { context, page };
    };
    const redis = new Redis(testRedisUrl(), { lazyConnect: true });
    closers.push(() => Promise.resolve(redis.disconnect()));
    const parking = parkers(stack, redis, admin);
    return { stack, dashboard, browser, tokens, admin, reader, worker, open, ...parking, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** A transition as the scheduler's scripts write it to a queue's outbox (`emit`), each field a string. */
const outboxFields = (jobId: string, seq: number, type: string, status: string, actor: string, reason: string): string[] =>
  Object.entries({ job: jobId, seq: String(seq), type, status, attempt: "0", actor, reason, at: String(Date.now()) }).flat();

/** The fixture's ways of parking outbox entries in the stack's Redis (see DashboardFixture). */
function parkers(stack: InProcessStack, redis: Redis, admin: TaskFlowClient): Pick<DashboardFixture, "parkRefusedEntry" | "parkReplayableEntry"> {
  // The scheduler's key layout (services/scheduler/src/redis/keys.ts): the queue's hash tag, then the stream.
  const key = (queue: string, stream: "outbox" | "outbox-dead") => `${stack.redisKeyPrefix}:{${queue}}:${stream}`;
  return {
    parkRefusedEntry: async (queue, jobId) => {
      await redis.xadd(key(queue, "outbox"), "*", ...outboxFields(jobId, 2, "EXPLODED", "pending", "scheduler:next", "from_the_future"));
      await eventually(async () => ((await admin.parkedEvents(queue)).some((e) => e.jobId === jobId) ? true : undefined), 15_000);
    },
    parkReplayableEntry: async (queue, jobId, error) => {
      const fields = outboxFields(jobId, 2, "CANCELLED", "cancelled", "api:ops", "cancel_requested");
      await redis.xadd(key(queue, "outbox-dead"), "*", ...fields, "entry_id", `${Date.now()}-0`, "park_error", error);
    },
  };
}

const axeSource = readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** Runs axe-core on the page as it is and expects no serious or critical violation. */
export async function expectAccessible(page: Page): Promise<void> {
  // Evaluated through the debugging protocol: the page's own policy allows no injected script tag.
  await page.evaluate(await axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string; nodes: { target: unknown }[] }[] }> } }).axe;
    const result = await axe.run();
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.map((n) => JSON.stringify(n.target)).slice(0, 3) }));
  });
  expect(violations.filter((v) => v.impact === "serious" || v.impact === "critical")).toEqual([]);
}

/** Writes a full-page screenshot of `page` as `<name>.png` in {@link SCREENSHOT_DIR}. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

/** Expects nothing on the page to be wider than the viewport (no sideways scrolling of the page itself). */
export async function expectNoPageOverflow(page: Page): Promise<void> {
  const widths = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, viewport: window.innerWidth }));
  expect(widths.page).toBeLessThanOrEqual(widths.viewport);
}
