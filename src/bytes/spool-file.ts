import { readSync, writeSync } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { fileSystemError } from '../errors.js';

/** Appends are written once this much waits. */
const flushAt = 1024 * 1024;

/**
 * A scratch file that is appended to and read back, so that what grows with a log lies on disk
 * rather than in memory. Appends are buffered and synchronous (callers add one sample at a time,
 * some from code that does not await them); reads see every append.
 */
export class SpoolFile {
  /** Bytes appended so far, written or not. */
  size = 0;
  private pending: (string | Uint8Array)[] = [];
  private pendingBytes = 0;
  private written = 0;

  private constructor(
    readonly path: string,
    private readonly file: FileHandle,
  ) {}

  static async create(path: string): Promise<SpoolFile> {
    const file = await open(path, 'w+', 0o600).catch((error: unknown) => {
      throw fileSystemError(error, path, 'create');
    });
    return new SpoolFile(path, file);
  }

  append(data: string | Uint8Array): void {
    const length = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    this.pending.push(data);
    this.pendingBytes += length;
    this.size += length;
    if (this.pendingBytes >= flushAt) this.flush();
  }

  /** Everything appended, in order, `chunkSize` bytes at a time (each valid until the next is read). */
  async *chunks(chunkSize: number): AsyncGenerator<Buffer> {
    this.flush();
    const buffer = Buffer.allocUnsafe(chunkSize);
    for (let position = 0; position < this.size; ) {
      const { bytesRead } = await this.file.read(buffer, 0, Math.min(chunkSize, this.size - position), position).catch((error: unknown) => {
        throw fileSystemError(error, this.path, 'read');
      });
      if (bytesRead === 0) throw fileSystemError(new Error('the file ended early'), this.path, 'read');
      position += bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  }

  /** `length` bytes at `offset`, read synchronously: for many small reads, a thread-pool round trip each would cost far more. */
  readAt(offset: number, length: number): Buffer {
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
    return bytes;
  }

  /** Closes and deletes the file. */
  async remove(): Promise<void> {
    await this.file.close().catch(() => undefined);
    await rm(this.path, { force: true });
  }

  private flush(): void {
    if (this.pendingBytes === 0) return;
    const bytes = Buffer.concat(this.pending.map((part) => (typeof part === 'string' ? Buffer.from(part) : part)));
    this.pending = [];
    this.pendingBytes = 0;
    try {
      for (let done = 0; done < bytes.length; ) done += writeSync(this.file.fd, bytes, done, bytes.length - done, this.written + done);
    } catch (error) {
      throw fileSystemError(error, this.path, 'write');
    }
    this.written += bytes.length;
  }
}
