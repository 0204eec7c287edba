#!/usr/bin/env node
// The `taskflow` command. Exit codes: 0 done, 1 a call was refused (or a job ended FAILED or
// CANCELLED), 2 the command line is wrong. Refusals print their Connect code on stderr.
import { describeFailure } from "./errors.js";
import { createProgram } from "./program.js";

try {
  await createProgram().parseAsync(process.argv);
} catch (err) {
  const { message, exitCode } = describeFailure(err);
  if (message !== "") process.stderr.write(`${message}\n`);
  process.exitCode = exitCode;
}
