/**
 * A real Keyvend for the tests and the benchmark: `keyvend serve` processes on a data dir
 * seeded through the `keyvend` CLI (admin, client) and the admin API (products, application).
 *
 * The binary is `$KEYVEND_BIN`, else the repository's `.venv/bin/keyvend`.
 */

import { spawn, execFile, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
// clients/typescript, seen from dist-test/tests/support where this module runs
export const PACKAGE_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const KEYVEND_BIN = process.env.KEYVEND_BIN ?? join(PACKAGE_ROOT, "../../.venv/bin/keyvend");
export const SECRET = "typescript-client-tests-secret-" + "x".repeat(32);
const STARTUP_SECONDS = 60;

/** The environment of a `keyvend` process working on `dataDir`. */
export function serverEnv(dataDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    KEYVEND_DATA_DIR: dataDir,
    KEYVEND_DATABASE_URL: `sqlite:///${join(dataDir, "keyvend.db")}`,
    KEYVEND_SECRET_KEY: SECRET,
    KEYVEND_CONFIG: join(dataDir, "absent.toml"),
    ...extra,
  };
}

/** Run `keyvend ARGS --json` on `dataDir` and return its JSON object. */
export async function keyvendCli(
  dataDir: string,
  ...args: string[]
): Promise<Record<string, unknown>> {
  const { stdout } = await run(KEYVEND_BIN, [...args, "--json"], {
    env: serverEnv(dataDir),
    timeout: 120_000,
  });
  return JSON.parse(stdout) as Record<string, unknown>;
}

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

export interface ServeOptions {
  readonly workers?: number;
  /** Extra environment; rate limiting is off unless this turns it on. */
  readonly env?: Record<string, string>;
}

/** `keyvend serve` in a subprocess on a free port, ready once it says it listens. */
export class KeyvendServer {
  readonly url: string;
  private readonly process: ChildProcess;

  private constructor(url: string, child: ChildProcess) {
    this.url = url;
    this.process = child;
  }

  /** Start a server on `dataDir` and wait until it listens. */
  static async start(dataDir: string, options: ServeOptions = {}): Promise<KeyvendServer> {
    const port = await freePort();
    const args = ["serve", "--port", String(port), "--workers", String(options.workers ?? 1)];
    const env = serverEnv(dataDir, { KEYVEND_RATE_LIMIT_ENABLED: "false", ...options.env });
    const child = spawn(KEYVEND_BIN, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    const server = new KeyvendServer(`http://127.0.0.1:${port}`, child);
    await server.listening();
    return server;
  }

  /** Terminate the server and wait for it to exit. */
  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = new Promise((resolve) => this.process.once("exit", resolve));
    this.process.kill("SIGTERM");
    // Open streams can hold a graceful shutdown for long: a server that lingers is killed.
    const killer = setTimeout(() => this.process.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(killer);
  }

  private listening(): Promise<void> {
    const seen: string[] = [];
    const stderr = createInterface({ input: this.process.stderr! });
    stderr.on("line", (line) => seen.push(line));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail("did not listen in time"), STARTUP_SECONDS * 1000);
      const fail = (why: string): void => {
        clearTimeout(timer);
        reject(new Error(`keyvend serve ${why}:\n${seen.join("\n")}`));
      };
      const lines = createInterface({ input: this.process.stdout! });
      lines.on("line", (line) => {
        seen.push(line);
        if (line.startsWith("Keyvend listening on")) {
          clearTimeout(timer);
          resolve();
        }
      });
      this.process.once("exit", (code) => fail(`exited with ${code}`));
      this.process.once("error", (error) => fail(`could not start (${error.message})`));
    });
  }
}

/** The admin half of the FOSSBilling API, authenticated with an admin API token. */
export class AdminApi {
  readonly baseUrl: string;
  private readonly token: string;

  constructor(baseUrl: string, token: string) {
    this.baseUrl = baseUrl;
    this.token = token;
  }

  /** Call `admin/PATH` and return its result; throw on an error envelope. */
  async call(path: string, params: Record<string, unknown> = {}): Promise<any> {
    const response = await fetch(`${this.baseUrl}/api/admin/${path}`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Authorization: `Basic ${Buffer.from(`admin:${this.token}`).toString("base64")}`,
      },
      body: JSON.stringify(params),
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await response.json()) as { result: unknown; error: unknown };
    if (body.error !== null) throw new Error(`admin/${path}: ${JSON.stringify(body.error)}`);
    return body.result;
  }

  /** The same admin, talking to another server. */
  at(baseUrl: string): AdminApi {
    return new AdminApi(baseUrl, this.token);
  }
}

export const STARTER_LIMIT = 250; // the Starter product's custom_monthlyLimit
export const METERED_QUOTA = 3; // the Metered product's server-side quota, per month

/**
 * A data dir holding an admin and a client (made by the CLI), two products (Starter with
 * `monthlyLimit` 250; Metered with a quota of 3 a month) and an application with its token,
 * and a server on it.
 */
export class Seed {
  readonly dataDir: string;
  readonly server: KeyvendServer;
  readonly admin: AdminApi;
  readonly clientId: number;
  readonly starterId: number;
  readonly meteredId: number;
  readonly appToken: string;

  private constructor(fields: Omit<Seed, "newOrder" | "newKey" | "stop">) {
    this.dataDir = fields.dataDir;
    this.server = fields.server;
    this.admin = fields.admin;
    this.clientId = fields.clientId;
    this.starterId = fields.starterId;
    this.meteredId = fields.meteredId;
    this.appToken = fields.appToken;
  }

  /** A fresh data dir, seeded, with a server on it (`options` for that server). */
  static async create(options: ServeOptions = {}): Promise<Seed> {
    const dataDir = await mkdtemp(join(tmpdir(), "keyvend-ts-"));
    const admin = await keyvendCli(dataDir, "admin", "create", "admin@example.com");
    const client = await keyvendCli(
      dataDir,
      "client",
      "create",
      "jo@example.com",
      "--first-name",
      "Jo",
    );
    const server = await KeyvendServer.start(dataDir, options);
    const api = new AdminApi(server.url, String(admin.api_token));
    return new Seed({
      dataDir,
      server,
      admin: api,
      clientId: Number(client.id),
      starterId: await product(api, "Starter", { custom_monthlyLimit: String(STARTER_LIMIT) }),
      meteredId: await product(api, "Metered", { quota: METERED_QUOTA, quota_period: "month" }),
      appToken: String((await api.call("application/create", { name: "ts tests" })).token),
    });
  }

  /** A fresh active order of the client (of `productId`, else Starter) and its key. */
  async newOrder(productId?: number): Promise<{ orderId: number; key: string }> {
    const orderId = Number(
      await this.admin.call("order/create", {
        client_id: this.clientId,
        product_id: productId ?? this.starterId,
        period: "1M",
        activate: true,
      }),
    );
    const service = await this.admin.call("order/service", { id: orderId });
    return { orderId, key: String(service.api_key) };
  }

  /** The key of a fresh active order. */
  async newKey(productId?: number): Promise<string> {
    return (await this.newOrder(productId)).key;
  }

  /** Stop the server and remove the data dir. */
  async stop(): Promise<void> {
    await this.server.stop();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

async function product(
  api: AdminApi,
  title: string,
  config: Record<string, unknown>,
): Promise<number> {
  const id = Number(await api.call("product/prepare", { title, type: "apikey" }));
  await api.call("product/update_config", { id, config: { length: 32, split: 1, ...config } });
  await api.call("product/update", { id, status: "enabled", setup: "after_order" });
  return id;
}
