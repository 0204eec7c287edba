import { describe, expect, it } from "vitest";
import type { Stack } from "./start-stack.js";
import { welcomeText } from "./welcome-text.js";

/** The parts of a stack the welcome text reads; no process is needed for it. */
function stackWith(urls: Stack["urls"]): Stack {
  const stop = (): Promise<void> => Promise.resolve();
  return {
    urls,
    postgres: { url: "postgres://postgres@127.0.0.1:5432/taskflow", adminUrl: "postgres://postgres@127.0.0.1:5432/postgres", source: "local", stop },
    redis: { url: "redis://127.0.0.1:6379", source: "local", stop },
  } as unknown as Stack;
}

const endpoints = (text: string): string[] => text.split("\n").filter((line) => /^ {2}\S+ +(http|postgres|redis):/.test(line));

describe("welcomeText", () => {
  const urls = { history: "http://127.0.0.1:50052", scheduler: "http://127.0.0.1:50051", worker: "http://127.0.0.1:50053" };

  it("lists the dashboard first, to open in a browser, when authentication is off", () => {
    const text = welcomeText(stackWith({ ...urls, dashboard: "http://127.0.0.1:8080" }));
    expect(endpoints(text)).toEqual([
      "  dashboard   http://127.0.0.1:8080   (web pages of the queues, jobs, workers and schedules; open it in a browser)",
      "  scheduler   http://127.0.0.1:50051   (gRPC, Connect and gRPC-Web; server reflection)",
      "  history     http://127.0.0.1:50052",
      "  worker      http://127.0.0.1:50053   (health only)",
      "  PostgreSQL  postgres://postgres@127.0.0.1:5432/taskflow   (local)",
      "  Redis       redis://127.0.0.1:6379   (local)",
    ]);
  });

  it("says to sign in with a token of the tokens file when authentication is on", () => {
    const text = welcomeText(stackWith({ ...urls, dashboard: "http://127.0.0.1:8080" }), "tokens from /etc/taskflow/tokens");
    expect(endpoints(text)[0]).toBe("  dashboard   http://127.0.0.1:8080   (sign in with a token of AUTH_TOKENS_FILE; the role reader is enough to look)");
    expect(text).toContain("  auth        tokens from /etc/taskflow/tokens");
  });

  it("leaves the dashboard out of a stack without one", () => {
    expect(welcomeText(stackWith(urls))).not.toContain("dashboard");
  });
});
