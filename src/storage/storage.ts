import type { ByteSource } from '../bytes/byte-source.js';

/** What a stat says of one file or object. */
export interface StorageStat {
  size: number;
  mtimeMs: number;
  /** S3's ETag, or for local files a cheap change tag (size + mtime). */
  etag: string;
}

/** A file or object found by `walk`. */
export interface StoredFile {
  location: string;
  /** Its path below the walked directory, `/`-separated. */
  relative: string;
  stat: StorageStat;
}

export interface ReadOptions {
  maxBytes?: number;
}

/** What a whole-file read takes at most unless told otherwise: the side files it serves are small. */
export const defaultReadLimit = 64 * 1024 * 1024;

export interface WriteOptions {
  /** Object tags (S3 only; ignored on local disk). Where tagging is refused the write is retried untagged (spec B.7). */
  tags?: Record<string, string>;
}

/**
 * One interface for every place a log or its buffer can live (unstorage's model: one driver
 * per backend, one conformance suite for all). Locations are strings: a local path, or an
 * `s3://bucket/key` URI. Directory-like locations have no trailing slash.
 */
export interface Storage {
  readonly kind: 'local' | 's3';
  /**
   * The whole file or object: NotFoundError when it does not exist, StorageError when it is
   * larger than `maxBytes` (default `defaultReadLimit`) or, on disk, not a regular file.
   */
  read(location: string, options?: ReadOptions): Promise<Uint8Array>;
  /** `length` bytes from `offset` (fewer at the end of the object). */
  readRange(location: string, offset: number, length: number): Promise<Uint8Array>;
  /** Random access for the zip reader; `known`, a stat just taken (from `walk`), spares asking for it again. */
  byteSource(location: string, known?: StorageStat): ByteSource;
  /** Replaces the file or object atomically: readers see the old or the new bytes, never a mix. */
  write(location: string, data: Uint8Array | string, options?: WriteOptions): Promise<void>;
  /** Like `write`, from a local file, without holding it in memory. */
  writeFromFile(location: string, localPath: string, options?: WriteOptions): Promise<void>;
  /** Replaces `to` atomically with the bytes of `from`, in the same storage. */
  copy(from: string, to: string, options?: WriteOptions): Promise<void>;
  /**
   * Names (not locations) of the entries directly inside a directory, files and subdirectories
   * alike (on S3: objects and common prefixes), sorted; [] when it does not exist.
   */
  list(directory: string): Promise<string[]>;
  /**
   * Every file or object at any depth under a directory, with its stat, sorted by location; []
   * when it does not exist. On S3 one paginated listing of the prefix, however deep it goes.
   */
  walk(directory: string): Promise<StoredFile[]>;
  /** Deletes a file or object; no error when it is already gone. */
  delete(location: string): Promise<void>;
  /** Deletes a directory and everything under it; no error when it is already gone. */
  deleteTree(directory: string): Promise<void>;
  /**
   * Creates the file or object only if none exists (S3 `If-None-Match: *`; locally an exclusive
   * create): the new version's tag, or undefined when one exists already. For small records (leases).
   */
  createExclusive(location: string, data: Uint8Array | string): Promise<string | undefined>;
  /** The whole file or object with its version tag; undefined when it does not exist. */
  readTagged(location: string): Promise<{ data: Uint8Array; etag: string } | undefined>;
  /** Deletes it only while its version is still `etag` (S3 `If-Match` on DeleteObject): whether it was deleted. */
  deleteIfTagged(location: string, etag: string): Promise<boolean>;
  /** Replaces it only while its version is still `etag` (S3 `If-Match`): the new tag, or undefined when it changed or is gone. */
  replaceIfTagged(location: string, data: Uint8Array | string, etag: string): Promise<string | undefined>;
  /** undefined when it does not exist. */
  stat(location: string): Promise<StorageStat | undefined>;
  /** Joins a directory location and a relative name. */
  join(directory: string, ...names: string[]): string;
}
