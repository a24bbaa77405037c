/**
 * Reading commands: sessions, log, show, cat, diff.
 */
import type { Command } from "commander";
import { CairnError, type Store, type StoredCheckpoint } from "../../index.js";
import { formatDiff } from "../../checkpoint/format-diff.js";
import { colors, formatBytes } from "../format.js";
import {
  iso,
  parsePositiveInt,
  pretty,
  print,
  printJson,
  resolveTarget,
  storeCommand,
  table,
  withStore,
  type StoreCommandOptions,
  type Target,
} from "./common.js";

/** Blob kinds that hold a cairn value (canonical MessagePack). */
const VALUE_KINDS = new Set(["value", "tool-state", "plugin-snapshot", "execution-state", "snapshot"]);

export function registerReadCommands(program: Command): void {
  storeCommand(program.command("sessions"))
    .description("list the sessions: id, head (newest seq), last update")
    .action((opts: StoreCommandOptions) =>
      withStore(opts, async (store) => {
        const sessions = await store.sessions.list();
        if (opts.json) {
          printJson(sessions.map((s) => ({ id: s.id, head: s.head, createdAt: iso(s.createdAt), updatedAt: iso(s.updatedAt) })));
        } else if (sessions.length === 0) {
          print(colors.dim("no sessions"));
        } else {
          print(...table(["SESSION", "HEAD", "UPDATED"], sessions.map((s) => [s.id, String(s.head), s.updatedAt.toISOString()])));
        }
      }),
    );

  storeCommand(program.command("log"))
    .description("a session's history, newest first (reads no blob)")
    .argument("<session>", "session id")
    .option("-n, --limit <n>", "at most n rows", parsePositiveInt)
    .action((session: string, opts: StoreCommandOptions & { limit?: number }) =>
      withStore(opts, async (store) => {
        const rows = await store.session(session).history(opts.limit === undefined ? {} : { limit: opts.limit });
        if (rows.length === 0) throw new CairnError("NOT_FOUND", `session ${session} has no checkpoints`, { session });
        if (opts.json) {
          printJson(rows.map((r) => ({ seq: r.seq, ref: r.ref, turn: r.turn, label: r.label ?? null, meta: r.meta, createdAt: iso(r.createdAt) })));
        } else {
          print(
            ...table(
              ["SEQ", "TURN", "CREATED", "REF", "LABEL"],
              rows.map((r) => [String(r.seq), String(r.turn), r.createdAt.toISOString(), r.ref, r.label ?? ""]),
            ),
          );
        }
      }),
    );

  storeCommand(program.command("show"))
    .description("a checkpoint, hydrated (ref, session@seq, or session for its latest), or a stored value")
    .argument("<target>", "a ref, session@seq, or session")
    .action((spec: string, opts: StoreCommandOptions) => withStore(opts, (store) => show(store, spec, opts)));

  storeCommand(program.command("cat"))
    .description("the raw bytes of a blob, to stdout (binary-safe)")
    .argument("<ref>", "blob ref (or session@seq: its manifest)")
    .action((spec: string, opts: StoreCommandOptions) =>
      withStore(opts, async (store) => {
        const { ref } = await resolveTarget(store, spec);
        if (opts.json) {
          const bytes = await store.blobs.get(ref);
          printJson({ ref, size: bytes.byteLength, bytes });
        } else {
          await pipeToStdout(await store.blobs.getStream(ref));
        }
      }),
    );

  storeCommand(program.command("diff"))
    .description("what changed between two checkpoints (or two stored values); exit 1 when they differ")
    .argument("<a>", "a ref, session@seq, or session")
    .argument("<b>", "a ref, session@seq, or session")
    .action((a: string, b: string, opts: StoreCommandOptions) =>
      withStore(opts, async (store) => {
        const [ta, tb] = [await resolveTarget(store, a), await resolveTarget(store, b)];
        const [ka, kb] = [await kindOf(store, ta.ref), await kindOf(store, tb.ref)];
        const diff = ka === "manifest" && kb === "manifest" ? await store.diff(ta.ref, tb.ref) : await store.diffValues(ta.ref, tb.ref);
        if (opts.json) printJson(diff);
        else print(formatDiff(diff, { color: colors.isColorSupported, labels: { a: label("a", ta), b: label("b", tb) } }));
        return diff.equal ? 0 : 1;
      }),
    );
}

/** The header's name for a side: session@seq when given by session, else a / b. */
function label(fallback: string, target: Target): string {
  return target.session === undefined ? fallback : `${target.session}@${target.seq}`;
}

async function kindOf(store: Store, ref: string): Promise<string> {
  const info = await store.blobs.info(ref);
  if (!info) throw new CairnError("NOT_FOUND", `no blob with ref ${ref}`, { ref });
  return info.kind;
}

async function show(store: Store, spec: string, opts: StoreCommandOptions): Promise<void> {
  const target = await resolveTarget(store, spec);
  const info = await store.blobs.info(target.ref);
  if (!info) throw new CairnError("NOT_FOUND", `no blob with ref ${target.ref}`, { ref: target.ref });
  if (info.kind === "manifest") {
    const checkpoint = await store.checkpoints.get(target.ref);
    showCheckpoint(checkpoint, target, opts);
  } else if (VALUE_KINDS.has(info.kind)) {
    const value = await store.values.get(target.ref);
    if (opts.json) printJson({ type: "value", ref: target.ref, kind: info.kind, value });
    else print(`${colors.bold("value")} ${target.ref} ${colors.dim(`(${info.kind}, ${formatBytes(info.size)})`)}`, pretty(value));
  } else {
    if (opts.json) printJson({ type: "bytes", ...info });
    else
      print(
        `${colors.bold("blob")} ${target.ref} ${colors.dim(`(${info.kind}, ${formatBytes(info.size)}, ${info.encoding})`)}`,
        colors.dim(`raw bytes: \`cairn cat ${target.ref}\` prints them`),
      );
  }
}

function showCheckpoint(checkpoint: StoredCheckpoint, target: Target, opts: StoreCommandOptions): void {
  const where = target.session === undefined ? {} : { session: target.session, seq: target.seq };
  if (opts.json) {
    printJson({
      type: "checkpoint",
      ref: checkpoint.ref,
      ...where,
      turn: checkpoint.turn,
      pluginRevision: checkpoint.pluginRevision,
      meta: checkpoint.meta,
      slots: checkpoint.manifest.slots,
      snapshots: checkpoint.snapshots,
    });
    return;
  }
  const lines = [`${colors.bold("checkpoint")} ${checkpoint.ref}${target.session === undefined ? "" : colors.dim(`  (${target.session}@${target.seq})`)}`];
  lines.push(`turn: ${checkpoint.turn}`);
  if (checkpoint.pluginRevision !== undefined) lines.push(`pluginRevision: ${pretty(checkpoint.pluginRevision)}`);
  if (checkpoint.meta !== undefined) lines.push(`meta: ${pretty(checkpoint.meta)}`);
  for (const [slot, ref] of Object.entries(checkpoint.manifest.slots)) {
    lines.push("", `${colors.cyan(slot)} ${colors.dim(ref)}`, pretty(checkpoint.snapshots[slot], "  "));
  }
  print(...lines);
}

/**
 * Writes a blob's stream to stdout, waiting for "drain" whenever stdout's buffer
 * is full, so a blob of any size goes through in bounded memory. A stream that
 * errors (INTEGRITY) rejects after the bytes before it were written: the exit
 * status says the output is not the blob.
 */
async function pipeToStdout(stream: ReadableStream<Uint8Array>): Promise<void> {
  const out = process.stdout;
  const reader = stream.getReader();
  let failed: Error | undefined;
  const onError = (error: Error) => (failed = error);
  out.on("error", onError);
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) break;
      if (failed) throw failed;
      if (!out.write(next.value)) await drained(out, () => failed);
    }
    // Wait until the last bytes are handed off.
    await new Promise<void>((resolve, reject) => out.write(new Uint8Array(0), (error) => (error ? reject(error) : resolve())));
  } catch (error) {
    await reader.cancel().catch(() => {});
    throw error;
  } finally {
    out.off("error", onError);
  }
}

/** Resolves on stdout's next "drain"; rejects if it errors first. */
function drained(out: NodeJS.WriteStream, failed: () => Error | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const error = failed();
    if (error) return reject(error);
    const done = (err?: Error) => {
      out.off("drain", onDrain);
      out.off("error", onFail);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onFail = (err: Error) => done(err);
    out.once("drain", onDrain);
    out.once("error", onFail);
  });
}
