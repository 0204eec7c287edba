export {
  startInProcessStack,
  type InProcessStack,
  type InProcessStackOptions,
} from "./start-in-process-stack.js";
