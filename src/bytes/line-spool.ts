import { readSync, writeSync } from 'node:fs';
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileSystemError } from '../errors.js';

/** Appends are written once this much text waits. */
const flushAt = 1024 * 1024;
const readChunk = 256 * 1024;

/** One line as read back: its bytes (valid only until the next batch is read) and where they lie. */
export interface SpooledLine {
  offset: number;
  bytes: Buffer;
}

/**
 * A temporary file of text lines, in its own temp directory (removed on close), so that what a
 * run gathers per sample lies on disk rather than in memory. Appends are buffered and
 * synchronous: callers add one sample at a time from code that does not await them. Lines are
 * read back in order or by position.
 */
export class LineSpool {
  private pending: string[] = [];
  private pendingLength = 0;
  private size = 0;

  private constructor(
    readonly path: string,
    private readonly directory: string,
    private readonly file: FileHandle,
  ) {}

  static async create(name: string): Promise<LineSpool> {
    const directory = await mkdtemp(join(tmpdir(), 'inspect-recover-')).catch((error: unknown) => {
      throw fileSystemError(error, tmpdir(), 'create a temporary directory');
    });
    const path = join(directory, name);
    const file = await open(path, 'w+').catch(async (error: unknown) => {
      await rm(directory, { recursive: true, force: true });
      throw fileSystemError(error, path, 'create');
    });
    return new LineSpool(path, directory, file);
  }

  /** Adds a line (`text` must not contain a newline). */
  append(text: string): void {
    this.pending.push(text, '\n');
    this.pendingLength += text.length + 1;
    if (this.pendingLength >= flushAt) this.flush();
  }

  /**
   * Every line in order, a chunk's worth at a time (one await per chunk, not per line; the
   * lines' bytes are valid until the next batch is read).
   */
  async *lineBatches(): AsyncGenerator<SpooledLine[]> {
    this.flush();
    const chunk = Buffer.allocUnsafe(readChunk);
    let carried = Buffer.alloc(0);
    let carriedOffset = 0;
    for (let position = 0; position < this.size; ) {
      const read = await this.readInto(chunk, readChunk, position);
      position += read;
      const data = carried.length ? Buffer.concat([carried, chunk.subarray(0, read)]) : chunk.subarray(0, read);
      const batch: SpooledLine[] = [];
      let start = 0;
      for (let end = data.indexOf(0x0a); end !== -1; end = data.indexOf(0x0a, start)) {
        batch.push({ offset: carriedOffset + start, bytes: data.subarray(start, end) });
        start = end + 1;
      }
      if (batch.length) yield batch;
      // A line cut by the chunk's end waits for the next chunk (copied: the chunk is reused).
      carried = Buffer.from(data.subarray(start));
      carriedOffset += start;
    }
  }

  /**
   * The line of `length` bytes at `offset` (as given by `lineBatches()`), as text. Read synchronously:
   * these are many small reads, and a thread-pool round trip each would cost far more.
   */
  line(offset: number, length: number): string {
    this.flush();
    const bytes = Buffer.allocUnsafe(length);
    try {
      for (let done = 0; done < length; ) {
        const read = readSync(this.file.fd, bytes, done, length - done, offset + done);
        if (read === 0) throw new Error('the file ended early');
        done += read;
      }
    } catch (error) {
      throw fileSystemError(error, this.path, 'read');
    }
    return bytes.toString('utf8');
  }

  async close(): Promise<void> {
    await this.file.close().catch(() => undefined);
    await rm(this.directory, { recursive: true, force: true }).catch((error: unknown) => {
      throw fileSystemError(error, this.directory, 'remove');
    });
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const bytes = Buffer.from(this.pending.join(''));
    this.pending = [];
    this.pendingLength = 0;
    try {
      for (let done = 0; done < bytes.length; ) done += writeSync(this.file.fd, bytes, done, bytes.length - done, this.size + done);
    } catch (error) {
      throw fileSystemError(error, this.path, 'write');
    }
    this.size += bytes.length;
  }

  private async readInto(buffer: Buffer, length: number, position: number): Promise<number> {
    const { bytesRead } = await this.file.read(buffer, 0, length, position).catch((error: unknown) => {
      throw fileSystemError(error, this.path, 'read');
    });
    if (bytesRead === 0) throw fileSystemError(new Error('the file ended early'), this.path, 'read');
    return bytesRead;
  }
}
