/**
 * A child process for the event log test: opens the store at `path`, prints
 * "ready", waits for a line on stdin (so that both children start writing at
 * once), then appends `count` events of type `name` to `session`, one after
 * another, each awaited (data 0, 1, 2, ...), then a batch of 10 (type
 * `name-batch`), and prints "done".
 */
import { once } from "node:events";
import { openStore } from "../../../src/index.js";
import { EventLog } from "../../../src/adapters/stores/index.js";

const [path, session, name, count] = process.argv.slice(2) as [string, string, string, string];
const store = await openStore({ url: `file:${path}` });
const log = new EventLog(store, session);
process.stdout.write("ready\n");
await once(process.stdin, "data");
process.stdin.pause();
for (let i = 0; i < Number(count); i++) await log.append({ type: name, data: i });
await log.appendMany(Array.from({ length: 10 }, (_, i) => ({ type: `${name}-batch`, data: i })));
await store.close();
process.stdout.write("done\n");
