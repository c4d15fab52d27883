import {
  type DynamicModule,
  Global,
  Inject,
  type MiddlewareConsumer,
  Module,
  type NestModule,
  type OnApplicationShutdown,
  type Provider,
} from "@nestjs/common";
import { APP_INTERCEPTOR } from "@nestjs/core";
import { AuditLogger } from "../../api/AuditLogger.js";
import { audit, configure } from "../../api/configure.js";
import { AuditInterceptor } from "./AuditInterceptor.js";
import { AuditMiddleware } from "./AuditMiddleware.js";
import {
  AUDIT_MODULE_OPTIONS,
  type AuditModuleAsyncOptions,
  type AuditModuleOptions,
  type AuditOptionsFactory,
  validateModuleOptions,
} from "./AuditModuleOptions.js";

/** The logger the module provides: the caller's, the global one configured with `configure`, or the global one as it is. */
function provideLogger(options: AuditModuleOptions): AuditLogger {
  if (options.logger) return options.logger;
  if (options.configure) configure(options.configure);
  return audit;
}

const PROVIDERS: Provider[] = [
  { provide: AuditLogger, useFactory: provideLogger, inject: [AUDIT_MODULE_OPTIONS] },
  { provide: APP_INTERCEPTOR, useClass: AuditInterceptor },
];

/**
 * auditx for NestJS, imported once in the root module; global, so that
 * `AuditLogger` can be injected anywhere. Every request gets a RequestContext
 * scope opened by a middleware (before guards) and one completion entry;
 * handlers marked `@Audit` write their business entry when they settle.
 */
@Global()
@Module({})
export class AuditModule implements NestModule, OnApplicationShutdown {
  // Explicit tokens: the module works whether or not the application's compiler emits decorator metadata.
  constructor(@Inject(AuditLogger) private readonly logger: AuditLogger) {}

  static forRoot(options: AuditModuleOptions = {}): DynamicModule {
    return {
      module: AuditModule,
      global: true,
      providers: [{ provide: AUDIT_MODULE_OPTIONS, useValue: validateModuleOptions(options) }, ...PROVIDERS],
      exports: [AuditLogger, AUDIT_MODULE_OPTIONS],
    };
  }

  /** Options from a factory (`useFactory` + `inject`), or a class implementing `AuditOptionsFactory` (`useClass`, `useExisting`). */
  static forRootAsync(options: AuditModuleAsyncOptions): DynamicModule {
    if (options === null || typeof options !== "object") throw new TypeError("AuditModule.forRootAsync: expected an options object");
    const ways = [options.useFactory, options.useClass, options.useExisting].filter((way) => way !== undefined);
    if (ways.length !== 1) throw new TypeError("AuditModule.forRootAsync: give exactly one of useFactory, useClass, useExisting");
    const providers: Provider[] = [...PROVIDERS];
    if (options.useFactory) {
      const factory = options.useFactory;
      providers.push({
        provide: AUDIT_MODULE_OPTIONS,
        useFactory: async (...args: unknown[]) => validateModuleOptions(await factory(...args)),
        inject: options.inject ?? [],
      });
    } else {
      const factoryClass = (options.useClass ?? options.useExisting)!;
      if (options.useClass) providers.push({ provide: factoryClass, useClass: factoryClass });
      providers.push({
        provide: AUDIT_MODULE_OPTIONS,
        useFactory: async (factory: AuditOptionsFactory) => validateModuleOptions(await factory.createAuditOptions()),
        inject: [factoryClass],
      });
    }
    return { module: AuditModule, global: true, imports: options.imports ?? [], providers, exports: [AuditLogger, AUDIT_MODULE_OPTIONS] };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(AuditMiddleware).forRoutes("*");
  }

  /** `app.close()` (or a signal with `enableShutdownHooks()`) drains the trail's sinks; the logger stays open for others. */
  async onApplicationShutdown(): Promise<void> {
    await this.logger.flush();
  }
}
