import { open, rm, type FileHandle } from 'node:fs/promises';
import { fileSystemError } from '../errors.js';

const chunkSize = 1024 * 1024;

/**
 * The central-directory records of an archive being written, kept in a file beside it rather
 * than in memory, so that writing a log of any number of samples needs the same memory.
 */
export class CentralDirectorySpool {
  /** Records written so far, and their total size in bytes. */
  count = 0;
  size = 0;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;

  private constructor(
    readonly path: string,
    private readonly file: FileHandle,
  ) {}

  static async create(path: string): Promise<CentralDirectorySpool> {
    const file = await open(path, 'w+', 0o600).catch((error: unknown) => {
      throw fileSystemError(error, path, 'create');
    });
    return new CentralDirectorySpool(path, file);
  }

  async append(record: Uint8Array): Promise<void> {
    this.pending.push(record);
    this.pendingBytes += record.length;
    this.count++;
    this.size += record.length;
    if (this.pendingBytes >= chunkSize) await this.flush();
  }

  /** Every record so far, in order, a chunk at a time (each valid until the next is read). */
  async *chunks(): AsyncGenerator<Uint8Array> {
    await this.flush();
    const buffer = Buffer.allocUnsafe(chunkSize);
    for (let position = 0; position < this.size; ) {
      const { bytesRead } = await this.file.read(buffer, 0, Math.min(chunkSize, this.size - position), position).catch((error: unknown) => {
        throw fileSystemError(error, this.path, 'read');
      });
      if (bytesRead === 0) throw fileSystemError(new Error('file shorter than written'), this.path, 'read');
      position += bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  }

  /** Closes and deletes the spool file. */
  async remove(): Promise<void> {
    await this.file.close().catch(() => undefined);
    await rm(this.path, { force: true });
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const chunk = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    await this.file.appendFile(chunk).catch((error: unknown) => {
      throw fileSystemError(error, this.path, 'write');
    });
  }
}
