// A loop's wait that a signal can cut short: the worker and the scheduler sleep on one of
// these between rounds, and a publish (NOTIFY or in-process) wakes them at once.

/** The NOTIFY channel on which publishers (and anything that makes work due) wake workers. */
export const WAKE_CHANNEL = 'tidings_wake';
export class Wakeup {
  /** A wake-up arrived since the loop last cleared it. */
  pending = false;
  private resolveSleep: (() => void) | undefined;

  /** There is new work: end the current wait, and the next one before it starts. */
  wake(): void {
    this.pending = true;
    this.nudge();
  }

  /** End the current wait only (a slot came free). */
  nudge(): void {
    this.resolveSleep?.();
  }

  sleep(ms: number): Promise<void> {
    // Woken already: go on, but through the macrotask queue, so that sockets and timers run
    // first. A loop of already-resolved awaits never yields to them (it starved every
    // response and ack under load, found by the chaos test).
    if (this.pending) return new Promise((resolve) => setImmediate(resolve));
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.resolveSleep = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.resolveSleep = done;
    });
  }
}
