/**
 * What an append costs: 300 commits of a list that grows by one 200-byte item of
 * random text each time (so compression hides nothing), under several chunking
 * settings. Prints bytes written per byte appended.
 *
 *   npx tsx bench/append-cost.ts
 */
import { randomBytes } from "node:crypto";
import { openStore } from "../src/index.js";

const settings: Array<{ label: string; chunkAbove: number }> = [
  { label: "chunkAbove 32 KiB", chunkAbove: 32 * 1024 },
  { label: "chunkAbove 16 KiB", chunkAbove: 16 * 1024 },
  { label: "chunkAbove 8 KiB (default)", chunkAbove: 8 * 1024 },
  { label: "chunkAbove 4 KiB", chunkAbove: 4 * 1024 },
];

console.log("setting                        written   appended  written/appended");
for (const { label, chunkAbove } of settings) {
  const store = await openStore({ url: ":memory:", chunkAbove });
  const session = store.session("append");
  const items: Array<{ role: string; content: string }> = [];
  let written = 0;
  let appended = 0;
  for (let i = 0; i < 300; i++) {
    const content = randomBytes(150).toString("base64");
    items.push({ role: i % 2 ? "assistant" : "user", content });
    appended += content.length;
    written += (await session.commit({ turn: i, snapshots: { items: { items: items.slice() } } })).bytesWritten;
  }
  await store.close();
  console.log(`${label.padEnd(28)} ${(written / 1024).toFixed(0).padStart(6)} KiB ${(appended / 1024).toFixed(0).padStart(6)} KiB  ${(written / appended).toFixed(1).padStart(8)}x`);
}
