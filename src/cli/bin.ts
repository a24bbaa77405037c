#!/usr/bin/env node
// The `cairn` command: compiled JavaScript, run by plain `node` (see main.ts).
import "./main.js";
