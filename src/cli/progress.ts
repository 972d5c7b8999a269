// A progress bar for long work (decode of large files, replay, tcpbench). Drawn on stderr only when
// it is a terminal; silent otherwise, so piped and CI output stays clean. Redraws at most 10x/s.

export interface ProgressOptions {
  /** Total units (bytes, frames) if known; the bar shows a percentage only then. */
  total?: number;
  label: string;
  unit?: string;
  stream?: NodeJS.WriteStream;
  /** Force on or off; default: on when the stream is a TTY. */
  enabled?: boolean;
}

export class ProgressBar {
  private readonly stream: NodeJS.WriteStream;
  private readonly enabled: boolean;
  private readonly started = process.hrtime.bigint();
  private lastDraw = 0n;
  private current = 0;
  private drawn = false;

  constructor(private readonly opts: ProgressOptions) {
    this.stream = opts.stream ?? process.stderr;
    this.enabled = opts.enabled ?? Boolean(this.stream.isTTY);
  }

  update(current: number, extra = ''): void {
    this.current = current;
    if (!this.enabled) return;
    const now = process.hrtime.bigint();
    if (now - this.lastDraw < 100_000_000n) return;
    this.lastDraw = now;
    this.draw(extra);
  }

  private draw(extra: string): void {
    const elapsed = Number(process.hrtime.bigint() - this.started) / 1e9;
    const rate = elapsed > 0 ? this.current / elapsed : 0;
    const unit = this.opts.unit ?? '';
    let line = `${this.opts.label} ${formatCount(this.current)}${unit}`;
    const total = this.opts.total;
    if (total && total > 0) {
      const frac = Math.min(1, this.current / total);
      const width = 24;
      const filled = Math.round(frac * width);
      line = `${this.opts.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(1)}%`;
      if (rate > 0 && frac < 1) line += ` eta ${((total - this.current) / rate).toFixed(0)}s`;
    }
    line += ` ${formatCount(rate)}${unit}/s ${extra}`;
    const cols = this.stream.columns ?? 100;
    this.stream.write(`\r${line.slice(0, cols - 1).padEnd(Math.min(cols - 1, line.length))}\x1b[K`);
    this.drawn = true;
  }

  done(): void {
    if (this.enabled && this.drawn) this.stream.write('\r\x1b[K');
  }
}

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return `${Math.round(n)}`;
}
