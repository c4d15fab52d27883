/**
 * PostgreSQL for the tests: always a real server, never a mock, never a
 * silent skip. The server named by DATABASE_URL (else the PG* variables, else
 * a local server) when it answers, otherwise an embedded PostgreSQL started
 * once for the whole run (see postgres-discovery.ts, postgres-run.ts). Needs
 * `test/support/postgres-setup.ts` in vitest's globalSetup.
 *
 *   const postgres = usePostgres();
 *   it("stores entries", async () => {
 *     const db = await postgres.database();     // a fresh database, dropped after the test
 *     const client = await db.connect();        // ended before the drop
 *     const writer = await postgres.role();     // a login role without privileges
 *     await client.query(`GRANT INSERT ON entries TO ${writer.name}`);
 *     const asWriter = await db.connect(writer);
 *   });
 *
 * What a test creates is dropped after that test; what a beforeAll creates,
 * after the file (or describe block). Databases and roles are named
 * `auditx_t_<run>_<file>_<n>`, so test files run in parallel on one server.
 */
import { randomBytes } from "node:crypto";
import type pg from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, inject } from "vitest";
import { connectClient, type ServerSource, urlFor } from "./postgres-discovery.js";
import type { OwnedServer, StopMode } from "./postgres-owned.js";
import { destroyOwnedServer, namePrefix, type PostgresRun, type RunServer, runServer, startOwnedServer } from "./postgres-run.js";

export type { ServerSource, StopMode };

export interface TestDatabase {
  readonly name: string;
  /** This database's URL as the harness's administrative role (a superuser on an embedded server). */
  readonly url: string;
  /** This database's URL as `role`. */
  urlFor(role: TestRole): string;
  /** A connected client, as the administrative role or as `role`; ended when the database is dropped. */
  connect(role?: TestRole): Promise<pg.Client>;
}

export interface TestRole {
  readonly name: string;
  readonly password: string;
}

export interface RoleOptions {
  /** Default true. */
  login?: boolean;
}

export interface PostgresHarness {
  /** Where the server came from: "DATABASE_URL", "PG variables", "local server" or "embedded". */
  readonly source: ServerSource;
  /** `server_version`, e.g. "18.4". */
  readonly version: string;
  /** `server_version_num`, e.g. 180004. */
  readonly versionNum: number;
  /** The maintenance database's URL as the administrative role. */
  readonly adminUrl: string;
  /** Whether stop/start/restart are possible here; when false, cannotRestartBecause says why. */
  readonly canRestart: boolean;
  readonly cannotRestartBecause: string | undefined;
  /** A fresh, empty database. */
  database(): Promise<TestDatabase>;
  /** A role with no privileges beyond what a test grants (NOSUPERUSER NOCREATEDB NOCREATEROLE), with a password. */
  role(options?: RoleOptions): Promise<TestRole>;
  /** Stops the server: `fast` (default) ends sessions cleanly, `immediate` is a crash the next start recovers from. */
  stop(mode?: StopMode): Promise<void>;
  start(): Promise<void>;
  /** stop(mode) then start(): data, port and URLs stay; every open connection is cut. */
  restart(mode?: StopMode): Promise<void>;
}

export interface UsePostgresOptions {
  /**
   * A server this test file may stop and restart. With an embedded server the file gets one of its
   * own (about 2 s to start): the shared one serves other files at the same time. A server the
   * harness did not start (DATABASE_URL, PG*, local) cannot be restarted: canRestart is false.
   */
  restartable?: boolean;
}

interface Scope {
  clients: pg.Client[];
  databases: string[];
  roles: string[];
}

// Module state is fresh in every test file (vitest isolates them), so names carry a random tag, not the process id.
const fileTag = randomBytes(4).toString("hex");
let counter = 0;

function runOfThisProcess(): PostgresRun {
  const run = inject("auditxPostgresRun");
  if (!run) throw new Error("the PostgreSQL harness needs test/support/postgres-setup.ts in vitest's globalSetup (vitest.config.ts)");
  return run;
}

/** Registers the hooks that provide a server to this file (or describe block) and clean up after it. */
export function usePostgres(options: UsePostgresOptions = {}): PostgresHarness {
  const harness = new Harness(options);
  beforeAll(() => harness.open());
  beforeEach(() => {
    harness.scopes.push({ clients: [], databases: [], roles: [] });
  });
  afterEach(() => harness.closeScope());
  afterAll(() => harness.close());
  return harness;
}

class Harness implements PostgresHarness {
  readonly scopes: Scope[] = [{ clients: [], databases: [], roles: [] }];
  private run?: PostgresRun;
  private server?: RunServer;
  private own?: OwnedServer;
  private readonly ownName = `private-${fileTag}-${++counter}`;
  private why?: string;

  constructor(private readonly options: UsePostgresOptions) {}

  async open(): Promise<void> {
    this.run = runOfThisProcess();
    const shared = await runServer(this.run);
    if (!this.options.restartable) {
      this.server = shared;
      this.why =
        "the shared server serves every test file of the run at once: use usePostgres({ restartable: true }) for a server of the file's own";
    } else if (!shared.owned) {
      this.server = shared;
      this.why = `the server comes from ${shared.source}: the tests do not stop or restart a server they did not start`;
    } else {
      const { server, info } = await startOwnedServer(this.run, this.ownName);
      this.own = server;
      this.server = { ...info, owned: server.record };
    }
  }

  private get ready(): RunServer {
    if (!this.server) throw new Error("usePostgres(): the server is there from beforeAll on; use it inside hooks and tests");
    return this.server;
  }

  get source(): ServerSource {
    return this.ready.source;
  }
  get version(): string {
    return this.ready.version;
  }
  get versionNum(): number {
    return this.ready.versionNum;
  }
  get adminUrl(): string {
    return this.ready.adminUrl;
  }
  get canRestart(): boolean {
    return this.ready !== undefined && this.own !== undefined;
  }
  get cannotRestartBecause(): string | undefined {
    return this.ready !== undefined && this.own ? undefined : this.why;
  }

  private get scope(): Scope {
    return this.scopes[this.scopes.length - 1];
  }

  private newName(): string {
    return `${namePrefix(this.run!)}${fileTag}_${++counter}`;
  }

  private async admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = await connectClient(this.adminUrl);
    try {
      return await work(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  async database(): Promise<TestDatabase> {
    const name = this.newName();
    // On the embedded server (fsync off) copying the template's files is several times faster than the default WAL_LOG.
    const strategy = this.ready.owned ? " STRATEGY = FILE_COPY" : "";
    await this.admin((client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}${strategy}`));
    const scope = this.scope;
    scope.databases.push(name);
    const url = urlFor(this.adminUrl, name);
    return {
      name,
      url,
      urlFor: (role) => urlFor(this.adminUrl, name, { user: role.name, password: role.password }),
      connect: async (role) => {
        const client = await connectClient(role ? urlFor(this.adminUrl, name, { user: role.name, password: role.password }) : url);
        scope.clients.push(client);
        return client;
      },
    };
  }

  async role(options: RoleOptions = {}): Promise<TestRole> {
    const name = this.newName();
    const password = randomBytes(18).toString("base64url");
    const login = options.login === false ? "NOLOGIN" : "LOGIN";
    await this.admin((client) =>
      client.query(
        `CREATE ROLE ${client.escapeIdentifier(name)} ${login} NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD ${client.escapeLiteral(password)}`,
      ),
    );
    this.scope.roles.push(name);
    return { name, password };
  }

  private owned(): OwnedServer {
    if (this.ready !== undefined && this.own) return this.own;
    throw new Error(`cannot stop or restart PostgreSQL: ${this.why}`);
  }

  async stop(mode: StopMode = "fast"): Promise<void> {
    await this.owned().stop(mode);
  }

  async start(): Promise<void> {
    await this.owned().start();
  }

  async restart(mode: StopMode = "fast"): Promise<void> {
    const server = this.owned();
    await server.stop(mode);
    await server.start();
  }

  async closeScope(): Promise<void> {
    const scope = this.scopes.pop();
    if (scope) await this.clean(scope, this.scopes[0]);
  }

  async close(): Promise<void> {
    try {
      while (this.scopes.length > 0) await this.clean(this.scopes.pop()!, undefined);
    } finally {
      if (this.own && this.run) await destroyOwnedServer(this.run, this.ownName, this.own);
    }
  }

  /** Ends the scope's clients, drops its databases, then its roles; a role still granted something elsewhere moves to `outer`. */
  private async clean(scope: Scope, outer: Scope | undefined): Promise<void> {
    if (!this.server) return;
    await Promise.all(scope.clients.map((client) => client.end().catch(() => undefined)));
    if (scope.databases.length === 0 && scope.roles.length === 0) return;
    // A test that stopped its own server still gets its databases dropped.
    if (this.own && !(await this.own.isRunning())) await this.own.start();
    await this.admin(async (client) => {
      for (const name of scope.databases.reverse())
        await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
      for (const name of scope.roles.reverse()) {
        try {
          await client.query(`DROP ROLE IF EXISTS ${client.escapeIdentifier(name)}`);
        } catch (error) {
          // 2BP01: privileges in a database of the enclosing scope, dropped with it.
          if ((error as { code?: string }).code !== "2BP01" || !outer) throw error;
          outer.roles.push(name);
        }
      }
    });
  }
}
