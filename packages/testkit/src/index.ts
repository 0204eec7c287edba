export * from "./stores.js";
export * from "./spawn-test-stack.js";
export * from "./start-tcp-proxy.js";
export * from "./eventually.js";
export * from "./rejection.js";
