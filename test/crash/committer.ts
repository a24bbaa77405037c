/**
 * The crash test's child: resumes a session from its latest checkpoint and
 * commits checkpointFor(seq) in a loop, printing "ack <seq> <ref>" after each
 * commit returns, at the durability level given as its third argument. Pipes are synchronous on Linux, so a printed ack has reached
 * the parent before the next commit starts.
 */
import { openStore } from "../../src/index.js";
import { checkpointFor } from "./crash-workload.js";

const [path, sessionId, durability = "full"] = process.argv.slice(2) as [string, string, "full" | "normal" | undefined];
const store = await openStore({ url: `file:${path}`, durability });
const session = store.session(sessionId);
let seq = (await session.latest())?.seq ?? 0;
process.stdout.write(`ready ${seq}\n`);
for (;;) {
  const { seq: committed, ref } = await session.commit(checkpointFor(seq + 1), { expectedHead: seq });
  process.stdout.write(`ack ${committed} ${ref}\n`);
  seq = committed;
}
