/**
 * When the filestore syncs (sample-buffer.md §B.5): each DB write requests a sync; runs start at
 * least `intervalMs` apart (the first one `intervalMs` after creation); requests that arrive while
 * waiting or while a run is under way are coalesced into one follow-up run; runs never overlap.
 */
export interface SyncSchedulerOptions {
  intervalMs: number;
  /** A failed requested run; later requests still run. */
  onError(error: unknown): void;
}

export class SyncScheduler<T> {
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private requested = false;
  private running = false;
  private stopped = false;
  private lastStartMs = Date.now();

  constructor(
    private readonly task: () => Promise<T>,
    private readonly options: SyncSchedulerOptions,
  ) {}

  /** Asks for a run; cheap, never throws, and does nothing once stopped. */
  request(): void {
    if (this.stopped) return;
    this.requested = true;
    if (this.timer === undefined && !this.running) this.schedule();
  }

  /** Runs the task now (after a run under way), covering any pending request; rejects if it fails. */
  run(): Promise<T> {
    const result = this.queue.then(async () => {
      this.cancelTimer();
      this.requested = false;
      this.running = true;
      this.lastStartMs = Date.now();
      try {
        return await this.task();
      } finally {
        this.running = false;
        if (this.requested && !this.stopped) this.schedule();
      }
    });
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** No more requested runs; resolves when the run under way (if any) has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTimer();
    await this.queue;
  }

  private schedule(): void {
    const wait = Math.max(0, this.lastStartMs + this.options.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.run().catch((error: unknown) => this.options.onError(error));
    }, wait);
    // A forgotten stop() must not keep the process alive; stop() runs the final sync.
    this.timer.unref();
  }

  private cancelTimer(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
