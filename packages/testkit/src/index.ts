export * from "./stores.js";
