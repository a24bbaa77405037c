/**
 * Store maintenance: verify, gc with retention, pins, stats, du and timeline,
 * and portable bundles (export / import). Every function takes the store's internal context
 * (BlobContext) and reads and writes rows only through the storage floor
 * (ctx.maintenance, ctx.storage); the Store methods are the public form.
 */
export { runRepairs } from "./repair.js";
export { verify, type VerifyOptions, type VerifyReport, type VerifyFinding } from "./verify.js";
export { gc, DEFAULT_GRACE_MS, type GcOptions, type GcReport, type GcResult, type SpaceReport } from "./gc.js";
export type { GcPlan, GcTotals } from "./plan-gc.js";
export { pin, unpin, listPins, parsePinName, type PinInfo } from "./pin.js";
export { retention, type Retention, type RetentionScope, type RetentionPolicy, type RetentionEntry } from "./retention.js";
export { stats, type StoreStats, type BlobTotals } from "./stats.js";
export { du, type DuOptions, type DuReport, type SessionUsage, type UsageTotals, type LargeBlob } from "./du.js";
export { timeline, type TimelineOptions, type Timeline, type TimelineEntry, type ForkPoint } from "./timeline.js";
export { exportBundle, type ExportOptions, type ExportResult } from "./export-bundle.js";
export { importBundle, type ImportOptions, type ImportResult, type ImportPhase } from "./import-bundle.js";
export { BUNDLE_FORMAT, BUNDLE_VERSION } from "./bundle-format.js";
