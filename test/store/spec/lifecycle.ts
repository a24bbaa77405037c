/** Conformance spec, a store's life: closed after close(), and (where the backend can reopen) what was committed survives a reopen. */
import { expect, it } from "vitest";
import type { Backend } from "../../support/backends.js";
import { expectCode } from "../../support/expect-code.js";
import { textPayload, uid } from "../../support/random.js";

/** Registers this spec's tests for `backend` (inside its describe block; `backend.cleanup` closes what they open). */
export function lifecycleSpec(backend: Backend): void {
  it("is closed after close()", async () => {
    const store = await backend.open();
    await store.close();
    await expectCode(store.blobs.has("0".repeat(64)), "CLOSED");
    await expectCode(store.session("x").head(), "CLOSED");
  });

  if (backend.reopen) {
    it("keeps what was committed across a reopen", async () => {
      const store = await backend.open();
      const session = store.session(uid());
      await session.commit({ turn: 1, snapshots: { execution: { big: textPayload(70_000) } } });
      const again = await backend.reopen!(undefined, store);
      const latest = await again.session(session.id).latest();
      expect(latest?.seq).toBe(1);
      expect((latest?.snapshots.execution as { big: string }).big.length).toBe(70_000);
    });
  }
}
