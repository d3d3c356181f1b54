/**
 * Server-Sent Events, parsed line by line as the WHATWG HTML standard describes them.
 *
 * Only what a reader of Keyvend's revocation stream needs: `event`, `data` (several lines
 * joined by newlines), `id` (remembered across messages, as `Last-Event-ID` must be) and
 * `retry`; comments (the heartbeats) and unknown fields are skipped.
 */

/** One dispatched message: its type ("message" unless named), data and the last id seen. */
export interface ServerSentEvent {
  readonly event: string;
  readonly data: string;
  readonly id: string | null;
  readonly retry: number | null;
}

/** Feed it the stream's lines (without their line ends); it hands back each message. */
export class SSEParser {
  lastId: string | null = null;
  private event = "";
  private data: string[] = [];
  private retry: number | null = null;

  /** The message a blank `line` completes, else null (the line is remembered). */
  feed(line: string): ServerSentEvent | null {
    if (line === "") return this.dispatch();
    if (line.startsWith(":")) return null;
    const colon = line.indexOf(":");
    const name = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (name === "event") this.event = value;
    else if (name === "data") this.data.push(value);
    else if (name === "id" && !value.includes("\0")) this.lastId = value;
    else if (name === "retry" && /^\d+$/.test(value)) this.retry = Number.parseInt(value, 10);
    return null;
  }

  private dispatch(): ServerSentEvent | null {
    const event = this.event || "message";
    const { data, retry } = this;
    this.event = "";
    this.data = [];
    this.retry = null;
    if (data.length === 0) return null; // the standard drops a message without data
    return { event, data: data.join("\n"), id: this.lastId, retry };
  }
}

/**
 * Cuts decoded text chunks into lines at CRLF, LF or CR, whichever the server uses; a line is
 * handed out only once its end has arrived (a CR at a chunk's end waits for a possible LF).
 */
export class LineSplitter {
  private pending = "";

  /** The complete lines `chunk` ends, in order. */
  push(chunk: string): string[] {
    const text = this.pending + chunk;
    const lines: string[] = [];
    let start = 0;
    for (let at = 0; at < text.length; at += 1) {
      const char = text[at];
      if (char !== "\n" && char !== "\r") continue;
      if (char === "\r" && at === text.length - 1) break; // maybe half of a CRLF
      lines.push(text.slice(start, at));
      if (char === "\r" && text[at + 1] === "\n") at += 1;
      start = at + 1;
    }
    this.pending = text.slice(start);
    return lines;
  }
}
