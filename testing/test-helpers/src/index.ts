// Test helpers that depend on no service, store or tool: waits, expected failures, raw wire
// calls. Library tests may use these, and nothing else of the testing tier (see ARCHITECTURE.md).
export * from "./eventually.js";
export * from "./rejection.js";
export * from "./raw-call.js";
