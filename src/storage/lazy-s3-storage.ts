import type { ByteSource } from '../bytes/byte-source.js';
import { joinS3Location } from './s3-location.js';
import type { S3StorageOptions } from './s3-options.js';
import type { S3ByteSource, S3Storage } from './s3-storage.js';
import type { ReadOptions, Storage, StorageStat, StoredFile, WriteOptions } from './storage.js';

/**
 * S3Storage behind a dynamic import: the AWS SDK costs ~120 ms and ~25 MB to load, which a run
 * that never touches S3 should not pay.
 */
export class LazyS3Storage implements Storage {
  readonly kind = 's3' as const;
  private storage: Promise<S3Storage> | undefined;

  constructor(private readonly options: S3StorageOptions) {}

  /** The real driver, loaded on first use. */
  private driver(): Promise<S3Storage> {
    this.storage ??= import('./s3-storage.js').then(({ S3Storage }) => new S3Storage(this.options));
    return this.storage;
  }

  async read(location: string, options?: ReadOptions): Promise<Uint8Array> {
    return (await this.driver()).read(location, options);
  }

  async readRange(location: string, offset: number, length: number): Promise<Uint8Array> {
    return (await this.driver()).readRange(location, offset, length);
  }

  byteSource(location: string, known?: StorageStat): ByteSource {
    let source: Promise<S3ByteSource> | undefined;
    const open = () => (source ??= this.driver().then((driver) => driver.byteSource(location, known)));
    return {
      name: location,
      size: async () => (await open()).size(),
      read: async (offset, length) => (await open()).read(offset, length),
      readEnd: async (length) => (await open()).readEnd(length),
      close: async () => (source ? (await source).close() : undefined),
    };
  }

  async write(location: string, data: Uint8Array | string, options?: WriteOptions): Promise<void> {
    return (await this.driver()).write(location, data, options);
  }

  async writeFromFile(location: string, localPath: string, options?: WriteOptions): Promise<void> {
    return (await this.driver()).writeFromFile(location, localPath, options);
  }

  async copy(from: string, to: string, options?: WriteOptions): Promise<void> {
    return (await this.driver()).copy(from, to, options);
  }

  async list(directory: string): Promise<string[]> {
    return (await this.driver()).list(directory);
  }

  async walk(directory: string): Promise<StoredFile[]> {
    return (await this.driver()).walk(directory);
  }

  async delete(location: string): Promise<void> {
    return (await this.driver()).delete(location);
  }

  async deleteIfTagged(location: string, etag: string): Promise<boolean> {
    return (await this.driver()).deleteIfTagged(location, etag);
  }

  async deleteTree(directory: string): Promise<void> {
    return (await this.driver()).deleteTree(directory);
  }

  async createExclusive(location: string, data: Uint8Array | string): Promise<string | undefined> {
    return (await this.driver()).createExclusive(location, data);
  }

  async readTagged(location: string): Promise<{ data: Uint8Array; etag: string } | undefined> {
    return (await this.driver()).readTagged(location);
  }

  async replaceIfTagged(location: string, data: Uint8Array | string, etag: string): Promise<string | undefined> {
    return (await this.driver()).replaceIfTagged(location, data, etag);
  }

  async stat(location: string): Promise<StorageStat | undefined> {
    return (await this.driver()).stat(location);
  }

  join(directory: string, ...names: string[]): string {
    return joinS3Location(directory, ...names);
  }
}
