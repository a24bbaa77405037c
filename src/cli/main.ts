/**
 * The `cairn` command: parses arguments with commander and calls the public API.
 * Exit statuses: 0 fine, 1 findings or differences (verify, diff), 2 usage or
 * runtime error (`cairn: <CODE>: <sentence>` on stderr). See docs/cli.md.
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { CairnError } from "../index.js";
import { runDemo, runDemoWorker, type DemoOptions } from "./demo.js";
import { registerReadCommands } from "./commands/read.js";
import { registerWriteCommands } from "./commands/write.js";
import { registerMaintenanceCommands } from "./commands/maintenance.js";
import { registerRetentionCommands } from "./commands/retention.js";
import { registerUsageCommands } from "./commands/usage.js";
import { registerUiCommand } from "./commands/ui.js";

const positiveInt = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
  return n;
};

/** The package's version, from its package.json (two folders up from src/cli/ and dist/cli/ alike). */
const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

const program = new Command()
  .name("cairn")
  .description("A content-addressed checkpoint and blob store for AI agent runtimes.")
  .version(version, "-V, --version", "print the cairn-store version")
  // Usage errors: one line on stderr and exit status 2 (commander's own default is 1).
  // Set before the commands are added, so that every subcommand inherits both.
  .exitOverride()
  // A command's options follow its name (`cairn retention set --url X` are set's), as every command takes them.
  .enablePositionalOptions()
  .configureOutput({
    outputError: (message, write) => write(`cairn: USAGE: ${message.trim().replace(/^error: /, "").replace(/\s*\n\s*/g, " ")} (see cairn --help)\n`),
  });

const demoOptions = (command: Command) =>
  command
    .option("--url <url>", "where the demo database lives", "file:.cairn/demo.db")
    .option("--turns <n>", "agent turns to run", positiveInt("--turns"), 200)
    .option("--tool-every <n>", "a 256 KiB tool output every n turns", positiveInt("--tool-every"), 5)
    .option("--seed <n>", "workload seed", positiveInt("--seed"), 42);

demoOptions(program.command("demo"))
  .description("run an agent session, SIGKILL it midway, resume from latest() in a fresh process, and report")
  .option("--kill-at <turn>", "SIGKILL the first worker after this turn (default: about halfway)", positiveInt("--kill-at"))
  .option("--keep", "keep the demo database from an earlier run instead of starting fresh", false)
  .action(async (opts: DemoOptions) => {
    process.exitCode = await runDemo(opts);
  });

demoOptions(program.command("demo-worker", { hidden: true })).action(async (opts: DemoOptions) => {
  await runDemoWorker(opts);
});

registerReadCommands(program);
registerWriteCommands(program);
registerMaintenanceCommands(program);
registerRetentionCommands(program);
registerUsageCommands(program);
registerUiCommand(program);

// A reader that closes the pipe early (`cairn cat ref | head`) is not an error.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
});

const debug = process.argv.includes("--debug") || (Boolean(process.env.CAIRN_DEBUG) && process.env.CAIRN_DEBUG !== "0");

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and --version exit 0; every usage error exits 2. Commander printed the message.
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else {
    const code = error instanceof CairnError ? error.code : isSystemError(error) ? "IO" : "INTERNAL";
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`cairn: ${code}: ${message.replace(/\s*\n\s*/g, " ")}\n`);
    if (debug) console.error(error);
    process.exitCode = 2;
  }
}

function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === "string" && typeof (error as NodeJS.ErrnoException).syscall === "string";
}
