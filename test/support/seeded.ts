/**
 * Seeded randomness for tests: property runs whose seed is printed on failure
 * (set FC_SEED to replay), and the workload's PRNG for reproducible payloads.
 */
import fc from "fast-check";
import { prng } from "../../src/cli/workload.js";

export { prng };

/** The seed of this run: FC_SEED if set, else a fresh one. */
export function runSeed(): number {
  const fixed = process.env.FC_SEED;
  return fixed !== undefined ? Number(fixed) : Date.now() % 0x7fffffff;
}

/** fc.assert with a logged seed. */
export function check<Ts extends [unknown, ...unknown[]]>(property: fc.IProperty<Ts>, numRuns: number): void {
  const seed = runSeed();
  try {
    fc.assert(property, { seed, numRuns });
  } catch (error) {
    console.log(`fast-check property failed: replay with FC_SEED=${seed} (numRuns ${numRuns})`);
    throw error;
  }
}

/** fc.assert of an async property with a logged seed. */
export async function checkAsync<Ts extends [unknown, ...unknown[]]>(property: fc.IAsyncProperty<Ts>, numRuns: number): Promise<void> {
  const seed = runSeed();
  try {
    await fc.assert(property, { seed, numRuns });
  } catch (error) {
    console.log(`fast-check property failed: replay with FC_SEED=${seed} (numRuns ${numRuns})`);
    throw error;
  }
}

/** The PRNG's output as unsigned 32-bit integers (exact: the float is a uint32 over 2^32). */
export function prngUint32(seed: number): () => number {
  const next = prng(seed);
  return () => next() * 4294967296;
}
