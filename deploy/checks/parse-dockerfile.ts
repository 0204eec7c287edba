/** One Dockerfile instruction, continuation lines joined. */
export interface Instruction {
  /** Upper-cased: FROM, RUN, COPY, USER, ENV, ENTRYPOINT … */
  readonly keyword: string;
  readonly args: string;
  /** 1-based line the instruction starts on. */
  readonly line: number;
}

/** One build stage: `FROM <base> [AS <name>]` and the instructions after it. */
export interface Stage {
  readonly name: string | undefined;
  readonly base: string;
  readonly instructions: Instruction[];
}

/**
 * Splits a Dockerfile into stages. Comments, parser directives and blank lines are dropped;
 * lines ending in a backslash continue the instruction; ARGs before the first FROM are ignored.
 * @throws Error on a FROM without an image.
 */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  for (const instruction of readInstructions(text)) {
    if (instruction.keyword === "FROM") {
      stages.push(parseFrom(instruction));
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

function readInstructions(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending: { text: string; line: number } | undefined;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const continued = line.endsWith("\\");
    const part = continued ? line.slice(0, -1).trim() : line;
    pending = pending === undefined ? { text: part, line: index + 1 } : { ...pending, text: `${pending.text} ${part}` };
    if (continued) return;
    const [keyword = "", ...rest] = pending.text.split(/\s+/);
    instructions.push({ keyword: keyword.toUpperCase(), args: rest.join(" "), line: pending.line });
    pending = undefined;
  });
  return instructions;
}

function parseFrom(instruction: Instruction): Stage {
  const words = instruction.args.split(/\s+/).filter((w) => !w.startsWith("--"));
  const base = words[0];
  if (base === undefined || base === "") throw new Error(`FROM without an image on line ${instruction.line}`);
  const name = words[1]?.toUpperCase() === "AS" ? words[2] : undefined;
  return { name, base, instructions: [] };
}

/** The target stage followed by the stages it is built FROM, nearest first. */
export function stageChain(stages: readonly Stage[], target: string): Stage[] {
  const chain: Stage[] = [];
  let stage = stages.find((s) => s.name === target);
  while (stage !== undefined && !chain.includes(stage)) {
    chain.push(stage);
    const base = stage.base;
    stage = stages.find((s) => s.name === base);
  }
  return chain;
}

/** The arguments of the last `keyword` instruction in effect for the target, inherited or own. */
export function effectiveArgs(stages: readonly Stage[], target: string, keyword: string): string | undefined {
  for (const stage of stageChain(stages, target)) {
    const found = stage.instructions.filter((i) => i.keyword === keyword).at(-1);
    if (found !== undefined) return found.args;
  }
  return undefined;
}

/** The environment the target's image starts with, from its own and its ancestors' ENV lines. */
export function effectiveEnv(stages: readonly Stage[], target: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const stage of stageChain(stages, target).reverse()) {
    for (const i of stage.instructions.filter((x) => x.keyword === "ENV")) Object.assign(env, parseEnvArgs(i.args));
  }
  return env;
}

function parseEnvArgs(args: string): Record<string, string> {
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(args)) {
    const [key = "", ...value] = args.split(/\s+/);
    return { [key]: value.join(" ") };
  }
  const env: Record<string, string> = {};
  for (const match of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) {
    const [, key = "", value = ""] = match;
    env[key] = value.startsWith('"') ? value.slice(1, -1) : value;
  }
  return env;
}

/** An exec-form (`["node", "x.js"]`) ENTRYPOINT or CMD as its argv; undefined for shell form. */
export function execForm(args: string | undefined): string[] | undefined {
  if (args === undefined || !args.startsWith("[")) return undefined;
  const parsed: unknown = JSON.parse(args);
  return Array.isArray(parsed) && parsed.every((a) => typeof a === "string") ? parsed : undefined;
}
