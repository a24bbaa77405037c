/**
 * LangGraph's own checkpointer conformance suite (@langchain/langgraph-checkpoint-validation),
 * in full, against CairnSaver on a file store; plus the suite's opt-in
 * getDeltaChannelHistory cases.
 */
import { deltaChannelHistoryTests, validate } from "@langchain/langgraph-checkpoint-validation";
import { initializer } from "./support.js";

validate(initializer("file"));
deltaChannelHistoryTests(initializer("file"));
