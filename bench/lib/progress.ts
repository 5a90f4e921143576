/**
 * Progress of a long run on stderr (stdout carries the results): the part
 * running, the time since the run and the part started, and what the part is
 * doing. On a terminal one line is redrawn in place; elsewhere (a log file, CI)
 * a line is written when the detail changes, at most every few seconds, and
 * every 15 s while nothing changes.
 */
export class Progress {
  private part = '';
  private detail = '';
  private partStarted = Date.now();
  private lastWrite = 0;
  private shown = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly tty: boolean;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly runStarted = Date.now(),
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  /** A new part starts. */
  begin(part: string): void {
    this.part = part;
    this.detail = '';
    this.partStarted = Date.now();
    this.write();
    clearInterval(this.timer);
    this.timer = setInterval(() => this.write(), this.tty ? 1000 : 15000);
    this.timer.unref();
  }

  /** What the part is doing now (an iteration count, a level). */
  update(detail: string): void {
    if (detail === this.detail) return;
    this.detail = detail;
    if (this.tty || Date.now() - this.lastWrite >= 3000) this.write();
  }

  /** The part is over: its last line stays. */
  end(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.detail = 'done';
    this.write();
    if (this.tty) this.stream.write('\n');
    this.shown = false;
  }

  /** Prints a line of the log on stdout without tearing the progress line. */
  note(line: string): void {
    if (this.tty && this.shown) this.stream.write('\r\x1b[K');
    process.stdout.write(`${line}\n`);
    if (this.tty && this.shown) this.write();
  }

  private write(): void {
    this.lastWrite = Date.now();
    const secs = (since: number) => `${((Date.now() - since) / 1000).toFixed(0)} s`;
    const line = `[bench ${secs(this.runStarted)}] ${this.part} (${secs(this.partStarted)})${
      this.detail ? `: ${this.detail}` : ''
    }`;
    if (this.tty) {
      this.stream.write(`\r\x1b[K${line}`);
      this.shown = true;
    } else {
      this.stream.write(`${line}\n`);
    }
  }
}
