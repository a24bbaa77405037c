/**
 * cairn/langgraph: a LangGraph checkpointer on a cairn store.
 *
 * ```ts
 * import { openStore } from "cairn";
 * import { CairnSaver } from "cairn/langgraph";
 * const checkpointer = new CairnSaver(await openStore());
 * ```
 */
export { CairnSaver, type CairnSaverOptions } from "./saver.js";
