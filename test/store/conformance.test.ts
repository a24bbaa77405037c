/**
 * The store's conformance suite: every spec of test/store/spec/ on every
 * backend of the registry (in-memory, a file, a real sqld over http:// and
 * ws://, and an embedded replica of it). Server stores share the run's sqld
 * database, so the specs use unique ids and assert nothing global.
 */
import { afterAll, describe } from "vitest";
import { backends, backendTitle } from "../support/backends.js";
import { SPECS } from "./spec/index.js";

for (const backend of backends({ prefix: "cairn-conformance-" })) {
  describe.skipIf(backend.unavailable !== undefined)(`store on ${backendTitle(backend)}`, () => {
    afterAll(() => backend.cleanup());
    for (const spec of SPECS) spec(backend);
  });
}
