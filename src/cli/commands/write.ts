/**
 * Writing commands: put, pin, pins.
 */
import { createReadStream } from "node:fs";
import type { Command } from "commander";
import { CairnError } from "../../index.js";
import { colors } from "../format.js";
import { iso, print, printJson, resolveTarget, storeCommand, table, usage, withStore, type StoreCommandOptions } from "./common.js";

export function registerWriteCommands(program: Command): void {
  storeCommand(program.command("put"))
    .description("store the bytes of a file (or stdin with -) as a blob; prints its ref")
    .argument("<file>", "a file, or - for stdin")
    .option("--kind <kind>", "what the blob is for (metadata, not part of the ref)", "raw")
    .action((file: string, opts: StoreCommandOptions & { kind: string }) =>
      withStore(opts, async (store) => {
        // Streamed: a file of any size goes through in bounded memory (see blobs.putStream).
        const source = file === "-" ? process.stdin : createReadStream(file);
        let size = 0;
        const ref = await store.blobs.putStream(counted(source, (n) => (size += n)), { kind: opts.kind });
        if (opts.json) printJson({ ref, size, kind: opts.kind });
        else print(ref);
      }, { create: true }),
    );

  storeCommand(program.command("pin"))
    .description("point pin <name> at a blob or checkpoint so gc keeps it (--rm removes the pin)")
    .argument("<name>", "pin name")
    .argument("[target]", "a ref, session@seq, or session")
    .option("--rm", "remove the pin instead", false)
    .action((name: string, spec: string | undefined, opts: StoreCommandOptions & { rm: boolean }) =>
      withStore(opts, async (store) => {
        if (opts.rm) {
          if (spec !== undefined) throw usage("pin --rm takes only the pin's name");
          if (!(await store.unpin(name))) throw new CairnError("NOT_FOUND", `no pin named ${JSON.stringify(name)}`, { name });
          if (opts.json) printJson({ name, removed: true });
          else print(`unpinned ${name}`);
          return;
        }
        if (spec === undefined) throw usage("pin needs a target: cairn pin <name> <ref | session[@seq]>");
        const { ref } = await resolveTarget(store, spec);
        const pin = await store.pin(name, ref);
        if (opts.json) printJson({ name: pin.name, ref: pin.ref, createdAt: iso(pin.createdAt) });
        else print(`${pin.name} -> ${pin.ref}`);
      }),
    );

  storeCommand(program.command("pins"))
    .description("list the pins")
    .action((opts: StoreCommandOptions) =>
      withStore(opts, async (store) => {
        const pins = await store.listPins();
        if (opts.json) printJson(pins.map((p) => ({ name: p.name, ref: p.ref, createdAt: iso(p.createdAt) })));
        else if (pins.length === 0) print(colors.dim("no pins"));
        else print(...table(["PIN", "CREATED", "REF"], pins.map((p) => [p.name, p.createdAt.toISOString(), p.ref])));
      }),
    );
}

/** The pieces of `source`, counting their bytes. */
async function* counted(source: AsyncIterable<Uint8Array>, add: (n: number) => void): AsyncGenerator<Uint8Array> {
  for await (const piece of source) {
    if (piece instanceof Uint8Array) add(piece.byteLength);
    yield piece;
  }
}
