/**
 * Follows the revocation stream in the background of the event loop, over `fetch` streaming.
 *
 * It starts on the client's first use (`ensure`), not at construction, so that a client made
 * at import time costs nothing until it serves. One connection at a time; each read waits at
 * most `READ_TIMEOUT` seconds (the server's heartbeats come every 15 s), so that a connection
 * that died silently is noticed and replaced.
 */

import { Unauthorized } from "./errors.js";
import { Backoff, READ_TIMEOUT, isStream, type StreamSession } from "./live.js";
import { LineSplitter } from "./sse.js";

/** Why the follower aborted its own request: the server said nothing for too long. */
class Silence extends Error {
  constructor(seconds: number) {
    super(`no data for ${seconds} s`);
    this.name = "Silence";
  }
}

export class LiveFollower {
  readonly session: StreamSession;
  private readonly url: string;
  private readonly connectTimeout: number;
  private running: Promise<void> | null = null;
  private stopped = false;
  private request: AbortController | null = null;
  private wake: (() => void) | null = null;

  /** `connectTimeout`: seconds to wait for the stream's response head. */
  constructor(url: string, session: StreamSession, connectTimeout: number) {
    this.url = url;
    this.session = session;
    this.connectTimeout = connectTimeout;
  }

  /** Start following unless already following (or the client was closed). */
  ensure(): void {
    if (this.running === null && !this.stopped) this.running = this.run();
  }

  /** Stop following: the open request is aborted and the loop awaited. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.request?.abort();
    this.wake?.();
    await this.running;
    this.session.closed();
  }

  private async run(): Promise<void> {
    const backoff = new Backoff();
    while (!this.stopped) {
      let error: unknown = null;
      try {
        await this.follow();
      } catch (failure) {
        if (failure instanceof Unauthorized) {
          if (!this.stopped) this.session.refused();
          return;
        }
        error = failure; // never dies of a failure: reports it and reconnects
      }
      if (this.stopped) return;
      const least = this.session.broke(error);
      if (this.session.reachedLive) backoff.reset();
      await this.pause(backoff.next(least));
    }
  }

  private async follow(): Promise<void> {
    const request = new AbortController();
    this.request = request;
    let timer = this.deadline(request, this.connectTimeout);
    try {
      const response = await fetch(this.url, {
        headers: this.session.requestHeaders(),
        signal: request.signal,
      });
      if (!isStream(response) || response.body === null) {
        const body = await response.text();
        this.session.refusedStream({ status: response.status, headers: response.headers, body });
      }
      const parser = this.session.opened();
      const chunks = (response.body as ReadableStream<Uint8Array>).getReader();
      const lines = new LineSplitter();
      const decoder = new TextDecoder();
      for (;;) {
        clearTimeout(timer);
        timer = this.deadline(request, READ_TIMEOUT);
        const chunk = await chunks.read();
        if (chunk.done) return; // the server ended the stream
        for (const line of lines.push(decoder.decode(chunk.value, { stream: true }))) {
          const event = parser.feed(line);
          if (event !== null) this.session.handle(event);
        }
      }
    } finally {
      clearTimeout(timer);
      this.request = null;
      request.abort();
    }
  }

  /** Abort `request` unless `seconds` pass with news first. */
  private deadline(request: AbortController, seconds: number): NodeJS.Timeout {
    return setTimeout(() => request.abort(new Silence(seconds)), seconds * 1000);
  }

  /** Wait `seconds` before reconnecting, or less if the client is closed meanwhile. */
  private pause(seconds: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, seconds * 1000);
      this.wake = done;
    });
  }
}
