/**
 * The resource service: the only code that reads /proc (DESIGN.md §1–§2). `refresh` returns
 * one consistent reading; a process that vanishes mid-scan is simply gone.
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"
import type { CpuInfoEntry, ResourceReading } from "./types.js"

export class ResourceError extends Data.TaggedError("ResourceError")<{
  readonly path: string
  readonly reason: string
}> {
  override get message(): string {
    return `cannot read ${this.path}: ${this.reason}`
  }
}

export interface ResourceInformerShape {
  readonly refresh: Effect.Effect<ResourceReading, ResourceError>
  /** /proc/cpuinfo, read once at startup; empty when unreadable. */
  readonly cpuInfo: ReadonlyArray<CpuInfoEntry>
}

export class ResourceInformer extends Context.Tag("joulemon/ResourceInformer")<
  ResourceInformer,
  ResourceInformerShape
>() {}
