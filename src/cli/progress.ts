import path from 'node:path';
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

/** `1 image`, `2 images`: a count and its noun, singular for one. */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}

const STAGE_WORDS = { encode: 'encoding', decode: 'decoding', postprocess: 'post-processing' } as const;

type ImageProgress = Extract<RunEvent, { event: 'image_progress' }>;
type Loading = Extract<RunEvent, { event: 'loading' }>;

/** The line a run starts with: what it will do, before the model loads (or, resuming a folder, once it has loaded). */
export function startLine(e: Loading | Extract<RunEvent, { event: 'start' }>, loading?: Loading): string {
  const shard = e.shard ? ` of shard ${e.shard}` : '';
  const skipped = e.skipped_non_images ? ` (${count(e.skipped_non_images, 'non-image file')} skipped)` : '';
  const what = `sam-amg: ${count(e.images, 'image')}${shard}${skipped}`;
  return e.event === 'loading' ? `${what}; loading model ${e.model}` : `${what}; model ${loading?.model ?? 'loaded'}, resuming in ${e.out}`;
}

/** Counters shared by the human-readable reporters. */
class Tally {
  total = 0;
  done = 0;
  written = 0;
  failed = 0;
  skipped = 0;
  masks = 0;
  /** Images being generated, by path, with where they are and since when (ms). */
  readonly inFlight = new Map<string, ImageProgress & { since: number }>();
  private started = performance.now();

  update(e: RunEvent): void {
    if (e.event === 'loading') this.total = e.images;
    else if (e.event === 'start') { this.total = e.images; this.started = performance.now(); }
    else if (e.event === 'image_progress') this.inFlight.set(e.path, { ...e, since: this.inFlight.get(e.path)?.since ?? performance.now() });
    else if (e.event === 'image_done') { this.done++; this.written++; this.masks += e.masks; this.inFlight.delete(e.path); }
    else if (e.event === 'image_failed') { this.done++; this.failed++; this.inFlight.delete(e.path); }
    else if (e.event === 'image_skipped') { this.done++; this.skipped++; }
  }

  /** The share of the images in flight that is done, by prompts decoded. */
  private partial(): number {
    let sum = 0;
    for (const p of this.inFlight.values()) sum += p.prompts_total > 0 ? Math.min(1, p.prompts_done / p.prompts_total) : 0;
    return sum;
  }

  /** Images done, with the fraction of those in flight: what a bar shows. */
  progress(): number {
    return Math.min(this.total, this.done + this.partial());
  }

  /** Images per second over the images actually processed (skips are free), those in flight in part. */
  rate(): number {
    const seconds = (performance.now() - this.started) / 1000;
    return seconds > 0 ? (this.written + this.failed + this.partial()) / seconds : 0;
  }

  eta(): number {
    const left = this.total - this.progress();
    return left <= 0 ? 0 : left / this.rate();
  }

  /** Where each image in flight is: `a.jpg: decoding, 512/1024 prompts, crop 1/5, 12s`. */
  current(): string[] {
    const t = performance.now();
    return [...this.inFlight.values()].map((p) => `${p.path}: ${STAGE_WORDS[p.stage]}, ${p.prompts_done}/${count(p.prompts_total, 'prompt')}` +
      `${p.crops > 1 ? `, crop ${p.crop}/${p.crops}` : ''}, ${formatDuration((t - p.since) / 1000)}`);
  }
}

/** `--json`: every event as one JSON line on stdout; image_progress at most once every `intervalSeconds`. */
export class JsonLinesReporter implements Reporter {
  private lastProgress = -Infinity;
  constructor(private readonly intervalSeconds = 10, private readonly out: NodeJS.WritableStream = process.stdout) {}
  onEvent(e: RunEvent): void {
    if (e.event === 'image_progress') {
      const t = performance.now();
      if ((t - this.lastProgress) / 1000 < this.intervalSeconds) return;
      this.lastProgress = t;
    }
    this.out.write(`${JSON.stringify(e)}\n`);
  }
  note(line: string): void {
    process.stderr.write(`${line}\n`);
  }
  close(): void {}
}

/** A terminal: a live bar with images done/total (moving within an image by prompts), masks, images/s, ETA and failures. */
export class BarReporter implements Reporter {
  private readonly tally = new Tally();
  private readonly bars = new cliProgress.MultiBar({
    format: 'sam-amg {bar} {done}/{total} images | {masks} masks | {rate} img/s | ETA {etaText} | {failed} failed{current}',
    hideCursor: true,
    clearOnComplete: false,
    stream: process.stderr,
    fps: 5,
  }, cliProgress.Presets.shades_classic);
  private bar: cliProgress.SingleBar | undefined;
  private loading: Loading | undefined;

  onEvent(e: RunEvent): void {
    this.tally.update(e);
    if (e.event === 'loading') {
      this.loading = e;
      if (!e.resuming) this.note(startLine(e));
      return;
    }
    if (e.event === 'start') {
      if (this.loading?.resuming) this.note(startLine(e, this.loading));
      this.bar = this.bars.create(e.images, 0, this.payload());
      return;
    }
    if (e.event === 'summary') return;
    this.bar?.update(this.tally.progress(), this.payload());
  }

  private payload() {
    const t = this.tally;
    // The bar's line is cut at the terminal's width: the image in flight, briefly, last.
    const [first] = t.inFlight.values();
    const more = t.inFlight.size > 1 ? ` (+${t.inFlight.size - 1})` : '';
    return {
      done: t.done, masks: t.masks, rate: t.rate().toFixed(2), etaText: formatDuration(t.eta()), failed: t.failed,
      current: first === undefined ? '' : ` | ${STAGE_WORDS[first.stage]} ${first.prompts_done}/${first.prompts_total} ${path.basename(first.path)}${more}`,
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

/**
 * Not a terminal (CI logs): the start line, then a plain progress line
 * every `intervalSeconds` while the run goes on, naming each image in
 * flight with its stage and prompts done (0: a line at every event).
 */
export class PlainReporter implements Reporter {
  private readonly tally = new Tally();
  private last = performance.now();
  private loading: Loading | undefined;
  private loadStarted = 0;
  private phase: 'before' | 'loading' | 'running' | 'closed' = 'before';
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly intervalSeconds = 10, private readonly quiet = false) {}

  onEvent(e: RunEvent): void {
    this.tally.update(e);
    if (this.quiet || this.phase === 'closed') return;
    if (e.event === 'loading') {
      this.loading = e;
      this.loadStarted = performance.now();
      this.phase = 'loading';
      if (!e.resuming) this.line(startLine(e));
      this.schedule();
      return;
    }
    if (e.event === 'start') {
      this.phase = 'running';
      if (this.loading?.resuming) this.line(startLine(e, this.loading));
      this.schedule();
      return;
    }
    if (e.event === 'summary') {
      this.stop();
      return;
    }
    if ((performance.now() - this.last) / 1000 >= this.intervalSeconds) this.progressLine();
  }

  private line(text: string): void {
    this.last = performance.now();
    process.stderr.write(`${text}\n`);
  }

  private progressLine(): void {
    if (this.phase === 'loading') {
      this.line(`sam-amg: loading model ${this.loading?.model}, ${formatDuration((performance.now() - this.loadStarted) / 1000)}`);
      return;
    }
    const s = this.tally;
    const current = s.current();
    this.line(`sam-amg: ${s.done}/${count(s.total, 'image')} (${s.failed} failed, ${s.skipped} already done), ` +
      `${count(s.masks, 'mask')}, ${s.rate().toFixed(2)} images/s, ETA ${formatDuration(s.eta())}${current.length ? `; ${current.join('; ')}` : ''}`);
  }

  /** A line when the interval has passed since the last, even while no event comes (a long encoder or decoder call). */
  private schedule(): void {
    if (this.intervalSeconds <= 0 || this.timer) return;
    const wait = Math.max(0, this.intervalSeconds * 1000 - (performance.now() - this.last));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.phase !== 'loading' && this.phase !== 'running') return;
      if ((performance.now() - this.last) / 1000 >= this.intervalSeconds) this.progressLine();
      this.schedule();
    }, wait);
    // A pending line keeps no process alive.
    this.timer.unref();
  }

  private stop(): void {
    this.phase = 'closed';
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  note(line: string): void {
    this.last = performance.now();
    process.stderr.write(`${line}\n`);
  }

  close(): void {
    this.stop();
  }
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
