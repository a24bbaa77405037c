/**
 * Argument checks shared by the maintenance functions. Every check runs before
 * anything is read or written, and fails with INVALID_ARGUMENT naming the argument.
 */
import { CairnError, describe } from "../errors.js";

/** The options object of `what`, or {} when it is undefined; unknown keys are refused. */
export function optionsObject<T extends object>(options: unknown, what: string, known: readonly (keyof T & string)[]): Partial<T> {
  if (options === undefined) return {};
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new CairnError("INVALID_ARGUMENT", `${what} takes an options object, got ${describe(options)}`, { argument: "options" });
  }
  for (const key of Object.keys(options)) {
    if (!(known as readonly string[]).includes(key)) {
      throw new CairnError("INVALID_ARGUMENT", `${what} has no option ${JSON.stringify(key)} (known: ${known.join(", ")})`, { argument: key });
    }
  }
  return options as Partial<T>;
}

/** An integer option from `min` to `max`, or undefined. */
export function optionalInt(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
    throw new CairnError("INVALID_ARGUMENT", `${name} must be an integer from ${min} to ${max}, got ${describe(value)}`, { argument: name, actual: describe(value) });
  }
  return value as number;
}

/** A duration in milliseconds (a finite number, at least 0), or undefined. */
export function optionalDuration(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new CairnError("INVALID_ARGUMENT", `${name} must be a number of milliseconds (0 or more), got ${describe(value)}`, { argument: name, actual: describe(value) });
  }
  return Math.floor(value);
}

/** A point in time as epoch milliseconds, from a valid Date or a number of ms since the epoch; or undefined. */
export function optionalTime(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : typeof value === "number" ? value : NaN;
  if (!Number.isSafeInteger(ms)) {
    throw new CairnError("INVALID_ARGUMENT", `${name} must be a valid Date or epoch milliseconds, got ${describe(value)}`, { argument: name, actual: describe(value) });
  }
  return ms;
}

/** A boolean option, or undefined. */
export function optionalBoolean(name: string, value: unknown): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "boolean") throw new CairnError("INVALID_ARGUMENT", `${name} must be a boolean, got ${describe(value)}`, { argument: name });
  return value;
}

/** A callback option, or undefined. */
export function optionalCallback<F extends (...args: never[]) => unknown>(name: string, value: unknown): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "function") throw new CairnError("INVALID_ARGUMENT", `${name} must be a function, got ${describe(value)}`, { argument: name });
  return value as F;
}

/** Milliseconds since `start` (for per-step timings). */
export function since(start: number): number {
  return Math.round((performance.now() - start) * 100) / 100;
}
