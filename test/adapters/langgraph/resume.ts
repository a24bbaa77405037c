/**
 * Run in a fresh process by graph.test.ts: opens the store at argv[2], resumes
 * thread argv[3] of the fixture graph with Command({ resume: "yes" }) until it
 * finishes, and prints the final state as JSON on stdout.
 */
import { Command } from "@langchain/langgraph";
import { openStore } from "../../../src/index.js";
import { CairnSaver } from "../../../src/adapters/langgraph/index.js";
import { buildGraph } from "./graph-fixture.js";

const [url, thread] = process.argv.slice(2);
const store = await openStore({ url: url! });
try {
  const graph = buildGraph(new CairnSaver(store));
  const config = { configurable: { thread_id: thread! } };
  const before = await graph.getState(config);
  let resumes = 0;
  let result = await graph.invoke(new Command({ resume: "yes" }), config);
  resumes++;
  while ("__interrupt__" in result && resumes < 10) {
    result = await graph.invoke(new Command({ resume: "yes" }), config);
    resumes++;
  }
  const after = await graph.getState(config);
  const out = {
    pid: process.pid,
    nextBefore: before.next,
    resumes,
    next: after.next,
    calls: after.values.calls,
    messages: after.values.messages.map((m: { getType(): string; content: unknown }) => ({ type: m.getType(), content: String(m.content) })),
  };
  process.stdout.write(JSON.stringify(out));
} finally {
  await store.close();
}
