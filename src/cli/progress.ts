/** A one-line progress bar on a terminal; nothing at all when output is piped, on a dumb terminal, or on CI. */
export class ProgressBar {
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly label: string,
  ) {}

  static forStderr(label: string, enabled: boolean): ProgressBar | undefined {
    const drawable = process.stderr.isTTY && process.env.TERM !== 'dumb' && !process.env.CI;
    return enabled && drawable ? new ProgressBar(process.stderr, label) : undefined;
  }

  update(done: number, total: number): void {
    const now = Date.now();
    if (done < total && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const width = 30;
    const filled = total ? Math.round((done / total) * width) : width;
    this.stream.write(`\r${this.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}`);
    this.drawn = true;
  }

  clear(): void {
    if (this.drawn) this.stream.write('\r\x1b[2K');
    this.drawn = false;
  }
}
