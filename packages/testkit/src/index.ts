export * from "./stores.js";
export * from "./spawn-test-stack.js";
