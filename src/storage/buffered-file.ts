import { open, type FileHandle } from 'node:fs/promises';

const FLUSH_AT = 1 << 20;

/**
 * A file written in large chunks through a file handle, so every write's
 * error (a full disk, an I/O error) reaches the awaiting caller, where a
 * stream would emit it to whoever listens.
 */
export class BufferedFile {
  private chunks: Buffer[] = [];
  private pending = 0;

  private constructor(private readonly handle: FileHandle) {}

  static async create(file: string): Promise<BufferedFile> {
    return new BufferedFile(await open(file, 'w'));
  }

  async write(data: string | Uint8Array): Promise<void> {
    const chunk = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.chunks.push(chunk);
    this.pending += chunk.length;
    if (this.pending >= FLUSH_AT) await this.flush();
  }

  private async flush(): Promise<void> {
    const data = Buffer.concat(this.chunks);
    this.chunks = [];
    this.pending = 0;
    await this.handle.writeFile(data);
  }

  /** Writes what is left, flushes it to disk and closes the file. */
  async close(): Promise<void> {
    try {
      await this.flush();
      await this.handle.sync();
    } finally {
      await this.handle.close();
    }
  }

  /** Closes the file after a failure, keeping that failure rather than any of closing. */
  async abandon(): Promise<void> {
    this.chunks = [];
    await this.handle.close().catch(() => undefined);
  }
}
