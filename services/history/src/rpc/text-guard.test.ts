import { create, fromJson, type DescMessage } from "@bufbuild/protobuf";
import {
  AppendEventsRequestSchema,
  InsertJobsRequestSchema,
  ListJobsRequestSchema,
  UpsertWorkersRequestSchema,
} from "@taskflow/proto";
import { describe, expect, it } from "vitest";
import { isStorableText, messageProblem } from "./text-guard.js";

const LONE = "\uD800";
const problemOf = (desc: DescMessage, msg: object) => messageProblem(desc, msg as Record<string, unknown>, "");

describe("messageProblem", () => {
  it("accepts any storable text, emoji (surrogate pairs) included", () => {
    const req = create(InsertJobsRequestSchema, {
      jobs: [{ id: "x", type: "t😀", payload: { "k😀": ["a", { b: "é" }], n: 1, none: null } }],
    });
    expect(problemOf(InsertJobsRequestSchema, req)).toBeUndefined();
  });

  it.each([
    ["a plain field", { jobs: [{ type: "a\u0000b" }] }, "jobs[0].type: must not contain U+0000 (NUL)"],
    ["a payload value", { jobs: [{}, { payload: { a: { b: ["ok", `x${LONE}`] } } }] }, "jobs[1].payload.a.b[1]: must be valid Unicode"],
    ["a payload key", { jobs: [{ payload: { ok: { "k\u0000": 1 } } }] }, "jobs[0].payload.ok key: must not contain U+0000"],
  ])("names the field of NUL or a lone surrogate in %s", (_what, init, expected) => {
    expect(problemOf(InsertJobsRequestSchema, create(InsertJobsRequestSchema, init))).toContain(expected);
  });

  it("walks list filters, maps and google.protobuf.Value", () => {
    expect(problemOf(ListJobsRequestSchema, create(ListJobsRequestSchema, { queues: ["q", "%\u0000"] }))).toContain("queues[1]");
    const worker = create(UpsertWorkersRequestSchema, { workers: [{ id: "w", metadata: { zone: `a${LONE}` } }] });
    expect(problemOf(UpsertWorkersRequestSchema, worker)).toContain('workers[0].metadata["zone"]');
    const event = fromJson(AppendEventsRequestSchema, {
      events: [{ jobId: "j", result: { rows: [{ name: "a\u0000" }] }, details: { ok: true } }],
    });
    expect(problemOf(AppendEventsRequestSchema, event)).toContain("events[0].result.rows[0].name");
    const detail = create(AppendEventsRequestSchema, { events: [{ details: { why: "\u0000" } }] });
    expect(problemOf(AppendEventsRequestSchema, detail)).toContain("events[0].details.why");
  });

  it("tells storable text from the rest", () => {
    expect([isStorableText("%_\\'"), isStorableText("\u0000"), isStorableText(LONE), isStorableText("😀")]).toEqual([
      true,
      false,
      false,
      true,
    ]);
  });
});
