/**
 * Provides the logger's `ship` option with the PostgreSQL shipper. The
 * shipper (and node-postgres with it) is loaded only when a logger ships, so
 * importing auditx costs nothing more without it.
 */
import { provideTrailShipper, type ShipSettings, type ShipStats, type TrailShipper, type TrailShipperContext } from "../api/shipping.js";
import type { Shipper } from "./Shipper.js";

class LazyShipper implements TrailShipper {
  private shipper: Shipper | null = null;
  private readonly loading: Promise<void>;
  private closed = false;
  private loadError: string | null = null;

  constructor(settings: ShipSettings, context: TrailShipperContext) {
    this.loading = import("./Shipper.js").then(
      ({ Shipper }) => {
        // Made even when shutdown came first: its drain ships what the trail holds.
        this.shipper = new Shipper({
          postgres: settings.postgres as ConstructorParameters<typeof Shipper>[0]["postgres"],
          folders: [context.logDir],
          trail: context.trail,
          schema: settings.schema,
          initSchema: settings.initSchema,
          batchRows: settings.batchRows,
          pollIntervalMs: settings.pollIntervalMs,
          connections: settings.connections,
          cleanSearchIndex: settings.cleanSearchIndex,
          synchronousCommit: settings.synchronousCommit,
          hostname: context.hostname,
          // The application decides when its process ends, not the shipper.
          holdProcess: false,
          onEvent: (event) => context.report(event.level, event.message),
        });
      },
      (error: unknown) => {
        this.loadError = `the PostgreSQL shipper could not load: ${(error as Error).message}`;
        context.report("error", this.loadError);
      },
    );
  }

  stats(): ShipStats {
    if (this.shipper) return this.shipper.stats();
    return {
      state: this.closed ? "closed" : "starting",
      target: "",
      storeId: null,
      shipped: 0,
      skipped: 0,
      replayed: 0,
      batches: 0,
      lag: { records: 0, seconds: 0 },
      backlog: { bytes: 0, segments: 0 },
      lastBatchLagSeconds: null,
      lastShippedAt: null,
      lastError: this.loadError,
      folders: [],
    };
  }

  async close(drainMs: number): Promise<void> {
    this.closed = true;
    await this.loading;
    await this.shipper?.close(drainMs);
  }
}

provideTrailShipper((settings, context) => new LazyShipper(settings, context));
