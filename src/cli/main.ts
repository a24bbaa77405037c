/**
 * The `cairn` command: parses arguments with commander and calls the public API.
 */
import { Command, InvalidArgumentError } from "commander";
import { CairnError } from "../index.js";
import { runDemo, runDemoWorker, type DemoOptions } from "./demo.js";

const positiveInt = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
  return n;
};

const program = new Command()
  .name("cairn")
  .description("A content-addressed checkpoint and blob store for AI agent runtimes.")
  .showHelpAfterError();

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

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CairnError) {
    console.error(`cairn: ${error.code}: ${error.message}`);
    if (process.env.CAIRN_DEBUG) console.error(error);
    process.exitCode = 2;
  } else {
    throw error;
  }
}
