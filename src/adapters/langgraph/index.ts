/**
 * cairn-store/langgraph: a LangGraph checkpointer on a cairn store.
 *
 * ```ts
 * import { openStore } from "cairn-store";
 * import { CairnSaver } from "cairn-store/langgraph";
 * const checkpointer = new CairnSaver(await openStore());
 * ```
 */
export { CairnSaver, type CairnSaverOptions, type PruneOptions } from "./saver.js";
