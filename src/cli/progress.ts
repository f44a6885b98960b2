import cliProgress from 'cli-progress';
import type { RunEvent } from '../runner/events.js';

/** Turns run events into what a person or a script watching the run sees. */
export interface Reporter {
  onEvent(e: RunEvent): void;
  /** Prints a line without breaking a progress bar. */
  note(line: string): void;
  close(): void;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 90) return `${Math.round(seconds)}s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)}m`;
  return `${(seconds / 3600).toFixed(1)}h`;
}

/** Counters shared by the human-readable reporters. */
class Tally {
  total = 0;
  done = 0;
  written = 0;
  failed = 0;
  skipped = 0;
  masks = 0;
  private readonly started = performance.now();

  update(e: RunEvent): void {
    if (e.event === 'start') this.total = e.images;
    else if (e.event === 'image_done') { this.done++; this.written++; this.masks += e.masks; }
    else if (e.event === 'image_failed') { this.done++; this.failed++; }
    else if (e.event === 'image_skipped') { this.done++; this.skipped++; }
  }

  /** Images per second over the images actually processed (skips are free). */
  rate(): number {
    const seconds = (performance.now() - this.started) / 1000;
    return seconds > 0 ? (this.written + this.failed) / seconds : 0;
  }

  eta(): number {
    const left = this.total - this.done;
    return left === 0 ? 0 : left / this.rate();
  }
}

/** `--json`: every event as one JSON line on stdout. */
export class JsonLinesReporter implements Reporter {
  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}
  onEvent(e: RunEvent): void {
    this.out.write(`${JSON.stringify(e)}\n`);
  }
  note(line: string): void {
    process.stderr.write(`${line}\n`);
  }
  close(): void {}
}

/** A terminal: a live bar with images done/total, masks, images/s, ETA and failures. */
export class BarReporter implements Reporter {
  private readonly tally = new Tally();
  private readonly bars = new cliProgress.MultiBar({
    format: 'sam-amg {bar} {value}/{total} images | {masks} masks | {rate} img/s | ETA {etaText} | {failed} failed',
    hideCursor: true,
    clearOnComplete: false,
    stream: process.stderr,
    fps: 5,
  }, cliProgress.Presets.shades_classic);
  private bar: cliProgress.SingleBar | undefined;

  onEvent(e: RunEvent): void {
    this.tally.update(e);
    if (e.event === 'start') {
      this.bar = this.bars.create(e.images, 0, this.payload());
      return;
    }
    if (e.event === 'summary') return;
    this.bar?.update(this.tally.done, this.payload());
  }

  private payload() {
    return {
      masks: this.tally.masks, rate: this.tally.rate().toFixed(2), etaText: formatDuration(this.tally.eta()), failed: this.tally.failed,
    };
  }

  note(line: string): void {
    if (this.bar) this.bars.log(`${line}\n`);
    else process.stderr.write(`${line}\n`);
  }

  close(): void {
    this.bars.stop();
  }
}

/** Not a terminal (CI logs): a plain progress line every `intervalSeconds`. */
export class PlainReporter implements Reporter {
  private readonly tally = new Tally();
  private last = performance.now();

  constructor(private readonly intervalSeconds = 10, private readonly quiet = false) {}

  onEvent(e: RunEvent): void {
    this.tally.update(e);
    if (this.quiet || e.event === 'summary' || e.event === 'start') return;
    const t = performance.now();
    if ((t - this.last) / 1000 >= this.intervalSeconds) {
      this.last = t;
      const s = this.tally;
      process.stderr.write(`sam-amg: ${s.done}/${s.total} images (${s.failed} failed, ${s.skipped} already done), ` +
        `${s.masks} masks, ${s.rate().toFixed(2)} images/s, ETA ${formatDuration(s.eta())}\n`);
    }
  }

  note(line: string): void {
    process.stderr.write(`${line}\n`);
  }

  close(): void {}
}

/**
 * Progress of model downloads on stderr: a bar per file on a terminal, a
 * line when a file starts and every 10 % otherwise.
 */
export function downloadProgress(quiet = false) {
  return (label: string, url: string) => {
    if (quiet) return undefined;
    if (process.stderr.isTTY) {
      const bar = new cliProgress.SingleBar({
        format: `${label} {bar} {percentage}% | {value}/{total} bytes`, stream: process.stderr, hideCursor: true,
      }, cliProgress.Presets.shades_classic);
      let started = false;
      return (received: number, total: number | null) => {
        if (!started) {
          bar.start(total ?? 0, received);
          started = true;
        }
        if (total) bar.setTotal(total);
        bar.update(received);
        if (total && received >= total) bar.stop();
      };
    }
    process.stderr.write(`sam-amg: downloading ${label} from ${url}\n`);
    let lastTenth = -1;
    return (received: number, total: number | null) => {
      if (!total) return;
      const tenth = Math.floor((received / total) * 10);
      if (tenth > lastTenth) {
        lastTenth = tenth;
        process.stderr.write(`sam-amg: ${label}: ${tenth * 10}% of ${total} bytes\n`);
      }
    };
  };
}
