/** Typed-error assertions shared by the tests. */
import { expect } from "vitest";
import { CairnError } from "../../src/index.js";

/** Awaits `promise` (or calls `promise`) and checks it fails with a CairnError of `code`. */
export async function expectCode(promise: Promise<unknown> | (() => unknown), code: string): Promise<CairnError> {
  const run = typeof promise === "function" ? Promise.resolve().then(promise) : promise;
  const error = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CairnError);
  expect((error as CairnError).code).toBe(code);
  return error as CairnError;
}
