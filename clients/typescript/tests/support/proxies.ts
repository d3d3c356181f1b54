/**
 * What the tests put between a client and a real server: an HTTP proxy that counts the
 * requests reaching the server (and can hold them, fake an outage or a lagging worker), and
 * a TCP proxy that can cut every connection.
 */

import {
  Agent,
  createServer,
  request,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createConnection, createServer as createTcpServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";

import { SEQ_HEADER } from "../../src/answers.js";

async function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * Forwards HTTP to a Keyvend server, counting requests by path. `hold()` keeps requests
 * waiting until `release()`; `outage = 502` answers every request with a proxy's HTML error
 * page instead; `lagSeq = n` rewrites each answer's `X-Keyvend-Seq` to `n`, as a worker that
 * has not heard of the newest events would send it. `stop()` turns connections away.
 */
export class CountingProxy {
  url = "";
  outage: number | null = null;
  lagSeq: number | null = null;
  private readonly target: URL;
  private readonly counts = new Map<string, number>();
  private readonly agent = new Agent({ keepAlive: true });
  private readonly server: Server;
  private gate: Promise<void> | null = null;
  private opened: (() => void) | null = null;
  private arrivals: (() => void)[] = [];

  private constructor(target: string) {
    this.target = new URL(target);
    this.server = createServer((req, res) => void this.forward(req, res));
  }

  static async start(target: string): Promise<CountingProxy> {
    const proxy = new CountingProxy(target);
    proxy.url = await listen(proxy.server);
    return proxy;
  }

  /** How many requests for `path` reached the proxy. */
  requests(path: string): number {
    return this.counts.get(path) ?? 0;
  }

  /** Keep every request waiting until `release()`. */
  hold(): void {
    this.gate = new Promise((resolve) => (this.opened = resolve));
  }

  /** Let held requests through. */
  release(): void {
    this.opened?.();
    this.gate = null;
  }

  /** Resolves once the next request has arrived. */
  nextArrival(): Promise<void> {
    return new Promise((resolve) => this.arrivals.push(resolve));
  }

  /** Close every connection and stop listening: the port then refuses connections. */
  async stop(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
    this.agent.destroy();
  }

  private async forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    this.counts.set(path, this.requests(path) + 1);
    for (const arrived of this.arrivals.splice(0)) arrived();
    if (this.gate !== null) await this.gate;
    if (this.outage !== null) {
      res.writeHead(this.outage, { "Content-Type": "text/html" });
      res.end("<html><body><h1>Bad Gateway</h1></body></html>");
      req.resume();
      return;
    }
    const upstream = request(
      {
        host: this.target.hostname,
        port: this.target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent: this.agent,
      },
      (answer) => {
        const headers = { ...answer.headers };
        if (this.lagSeq !== null && headers[SEQ_HEADER] !== undefined) {
          headers[SEQ_HEADER] = String(this.lagSeq);
        }
        res.writeHead(answer.statusCode ?? 502, headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  }
}

/**
 * Forwards a loopback port to a server byte for byte; `cut()` drops every connection and
 * turns new ones away until `resume()`. `heads` holds the first bytes each connection sent
 * (its request head), to see which headers a client sent.
 */
export class TcpProxy {
  url = "";
  readonly heads: string[] = [];
  private readonly target: URL;
  private readonly sockets = new Set<Socket>();
  private readonly server = createTcpServer((socket) => this.accept(socket));
  private open = true;

  private constructor(target: string) {
    this.target = new URL(target);
  }

  static async start(target: string): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    proxy.url = await listen(proxy.server);
    return proxy;
  }

  /** Drop every connection; refuse new ones until `resume()`. */
  cut(): void {
    this.open = false;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  /** Forward new connections again. */
  resume(): void {
    this.open = true;
  }

  /** Stop listening and drop every connection. */
  async close(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private accept(downstream: Socket): void {
    if (!this.open) {
      downstream.destroy();
      return;
    }
    const upstream = createConnection({
      host: this.target.hostname,
      port: Number(this.target.port),
    });
    for (const socket of [downstream, upstream]) {
      this.sockets.add(socket);
      socket.on("error", () => undefined);
      socket.on("close", () => {
        this.sockets.delete(socket);
        downstream.destroy();
        upstream.destroy();
      });
    }
    downstream.once("data", (head: Buffer) => this.heads.push(head.toString("latin1")));
    downstream.pipe(upstream);
    upstream.pipe(downstream);
  }
}
