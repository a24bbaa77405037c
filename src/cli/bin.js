#!/usr/bin/env node
// The `cairn` command. cairn ships TypeScript sources; tsx compiles them on load.
import { register } from "tsx/esm/api";

register();
await import("./main.ts");
