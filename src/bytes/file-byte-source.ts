import type { FileHandle } from 'node:fs/promises';
import { openRegularFile } from './regular-file.js';
import { fileSystemError } from '../errors.js';
import type { ByteSource } from './byte-source.js';

/** A local regular file read with positioned reads; the handle opens lazily and is shared. */
export class FileByteSource implements ByteSource {
  private handle: Promise<FileHandle> | undefined;
  private knownSize: number | undefined;

  constructor(readonly name: string) {}

  private file(): Promise<FileHandle> {
    this.handle ??= openRegularFile(this.name).catch((error: unknown) => {
      this.handle = undefined;
      throw error;
    });
    return this.handle;
  }

  async size(): Promise<number> {
    if (this.knownSize === undefined) {
      const file = await this.file();
      const stat = await file.stat().catch((error: unknown) => {
        throw fileSystemError(error, this.name, 'stat');
      });
      this.knownSize = stat.size;
    }
    return this.knownSize;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const file = await this.file();
    const buffer = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await file.read(buffer, filled, length - filled, offset + filled).catch((error: unknown) => {
        throw fileSystemError(error, this.name, 'read');
      });
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === length ? buffer : buffer.subarray(0, filled);
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    if (handle) await (await handle.catch(() => undefined))?.close();
  }
}
