/**
 * cairn for the OpenAI Agents SDK (`@openai/agents` 0.20.x):
 * `import { CairnSession } from "cairn-store/openai-agents"`.
 *
 * - {@link CairnSession}: a persistent, concurrency-safe `Session` whose history
 *   transactions are applied exactly once, with a slot for a paused `RunState`.
 */
export { CairnSession, SESSION_ID_PREFIX, type CairnSessionOptions, type SaveRunStateOptions } from "./session.js";
