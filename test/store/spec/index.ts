/**
 * The store's conformance suite as specs, one module per concern, as
 * LangGraph's checkpoint validation suite is built: each spec registers its
 * tests for one Backend of the registry (test/support/backends.ts), and
 * test/store/conformance.test.ts runs every spec on every backend. A new
 * backend joins the registry and gets every spec; a new spec joins `SPECS`.
 */
import type { Backend } from "../../support/backends.js";
import { blobsSpec } from "./blobs.js";
import { checkpointsSpec } from "./checkpoints.js";
import { commitIdsSpec } from "./commit-ids.js";
import { lifecycleSpec } from "./lifecycle.js";
import { sessionsSpec } from "./sessions.js";
import { valuesSpec } from "./values.js";
import { writerSpec } from "./writer.js";

export type Spec = (backend: Backend) => void;

/** Every spec, in the order the tests are reported. */
export const SPECS: readonly Spec[] = [blobsSpec, valuesSpec, checkpointsSpec, writerSpec, sessionsSpec, commitIdsSpec, lifecycleSpec];
