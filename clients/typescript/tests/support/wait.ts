/** Waiting for things without sleeping a fixed time, and a clock the tests move by hand. */

import { setTimeout as delay } from "node:timers/promises";

export const DEADLINE = 10; // seconds; a revocation takes milliseconds, a busy machine adds some

/** Poll `condition` every 10 ms until it holds; fail after `timeout` seconds. */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeout = DEADLINE,
): Promise<void> {
  const deadline = performance.now() + timeout * 1000;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`not within ${timeout} s: ${what}`);
    await delay(10);
  }
}

/** A monotonic clock (seconds) the tests move by hand, so that TTLs pass without sleeping. */
export class FakeClock {
  now = 1_000;

  readonly read = (): number => this.now;

  advance(seconds: number): void {
    this.now += seconds;
  }
}

/** A logger that keeps what it is told, so that tests stay quiet and can read it. */
export class KeptLog {
  readonly lines: string[] = [];
  debug = (message: string): void => void this.lines.push(`debug ${message}`);
  info = (message: string): void => void this.lines.push(`info ${message}`);
  warn = (message: string): void => void this.lines.push(`warn ${message}`);
  error = (message: string): void => void this.lines.push(`error ${message}`);
}
