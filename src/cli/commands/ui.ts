/**
 * `cairn ui`: a local web server to browse the store (sessions, timelines with
 * sizes, checkpoints, diffs), read-only unless --write. Runs until SIGINT or
 * SIGTERM, then closes the store and exits 0. The server (Hono) and the browser
 * opener load only when this command runs.
 */
import { InvalidArgumentError, type Command } from "commander";
import { print, printJson, storeCommand, withStore, type StoreCommandOptions } from "./common.js";

interface UiOptions extends StoreCommandOptions {
  readonly port?: number;
  readonly host: string;
  readonly open: boolean;
  readonly write: boolean;
}

/** A port: an integer from 0 to 65535 (0: any free port). */
function parsePort(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535) throw new InvalidArgumentError(`expected a port from 0 to 65535, got ${JSON.stringify(text)}`);
  return n;
}

/** Resolves on the first SIGINT or SIGTERM. */
function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve(signal);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

/**
 * Adds `cairn ui` to `program`. Guarantee: the store must exist (NOT_FOUND, nothing
 * created); the command exits 0 after SIGINT or SIGTERM, having closed the server and the store.
 */
export function registerUiCommand(program: Command): void {
  storeCommand(program.command("ui"))
    .description("browse the store in a web browser: sessions, timelines with sizes, checkpoints, conversations, diffs (read-only unless --write)")
    .option("--port <n>", "the port (default 4317, or the next free one; 0: any free port)", parsePort)
    .option("--host <addr>", "the address to listen on (another than the loopback exposes the store to the network)", "127.0.0.1")
    .option("--open", "open the address in the system browser", false)
    .option("--write", "allow forking sessions and setting pins from the browser (writes need the token printed in the address)", false)
    .action((opts: UiOptions) =>
      withStore(opts, async (store) => {
        const { startUiServer } = await import("../../ui/server/server.js");
        const stopped = stopSignal();
        const server = await startUiServer({ store, host: opts.host, ...(opts.port === undefined ? {} : { port: opts.port }), write: opts.write });
        const exposed = !["127.0.0.1", "localhost", "::1"].includes(opts.host.toLowerCase());
        if (opts.json) {
          printJson({ url: server.url, origin: server.origin, port: server.port, readOnly: server.token === undefined });
        } else {
          print(
            `cairn ui: ${server.url}`,
            server.token === undefined
              ? "read-only (start with --write to fork sessions and set pins); Ctrl+C stops it"
              : "writes allowed with the token in this address: keep it private; Ctrl+C stops it",
            ...(exposed ? [`listening on ${opts.host}: whoever reaches this machine at that address can read the store`] : []),
          );
        }
        if (opts.open) {
          try {
            const { default: open } = await import("open");
            await open(server.url);
          } catch (error) {
            print(`could not open a browser (${error instanceof Error ? error.message : String(error)}): open the address above`);
          }
        }
        await stopped;
        await server.close();
        return 0;
      }),
    );
}
