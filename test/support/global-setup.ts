/**
 * Starts one real sqld for the whole test run and hands its URLs to the tests;
 * where sqld cannot run (not linux-x64), hands them the reason instead.
 */
import type { TestProject } from "vitest/node";
import { startSqld, sqldUnavailable, type SqldServer } from "./sqld.js";

let server: SqldServer | undefined;

export async function setup(project: TestProject): Promise<void> {
  const unavailable = sqldUnavailable();
  if (unavailable) {
    console.warn(`Skipping the libSQL server backends (sqld-http, sqld-ws, replica): ${unavailable}.`);
    project.provide("sqldUnavailable", unavailable);
    project.provide("sqldHttpUrl", "");
    project.provide("sqldWsUrl", "");
    return;
  }
  server = await startSqld();
  project.provide("sqldUnavailable", "");
  project.provide("sqldHttpUrl", server.httpUrl);
  project.provide("sqldWsUrl", server.wsUrl);
}

export async function teardown(): Promise<void> {
  await server?.stop();
}

declare module "vitest" {
  export interface ProvidedContext {
    sqldHttpUrl: string;
    sqldWsUrl: string;
    /** Why the server backends are skipped on this machine; empty where sqld runs. */
    sqldUnavailable: string;
  }
}
