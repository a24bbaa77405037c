/** Starts one real sqld for the whole test run and hands its URLs to the tests. */
import type { TestProject } from "vitest/node";
import { startSqld, type SqldServer } from "./sqld.js";

let server: SqldServer | undefined;

export async function setup(project: TestProject): Promise<void> {
  server = await startSqld();
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
  }
}
