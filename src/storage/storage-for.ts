import { UsageError } from '../errors.js';
import { LocalStorage } from './local-storage.js';
import { isS3Location } from './s3-location.js';
import { LazyS3Storage } from './lazy-s3-storage.js';
import type { S3StorageOptions } from './s3-options.js';
import type { Storage } from './storage.js';

export { isS3Location };

const localStorage = new LocalStorage();
const s3Storages = new Map<string, LazyS3Storage>();
// Objects in the options (a client, credentials) count by identity, not by content.
const objectIds = new WeakMap<object, number>();
let lastObjectId = 0;

/**
 * The driver for a location: S3Storage for `s3://` URIs (loaded on first use), LocalStorage for
 * paths and `file://` URIs. One S3Storage (one client, one connection pool) is shared per set of
 * options.
 */
export function storageFor(location: string, options: S3StorageOptions = {}): Storage {
  if (!isS3Location(location)) {
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(location)?.[1];
    if (scheme !== undefined && scheme.toLowerCase() !== 'file') {
      throw new UsageError(`${location}: unknown scheme "${scheme}://" (use a local path, a file:// URI or an s3:// URI)`);
    }
    return localStorage;
  }
  const key = optionsKey(options);
  let storage = s3Storages.get(key);
  if (!storage) {
    storage = new LazyS3Storage(options);
    s3Storages.set(key, storage);
  }
  return storage;
}

function optionsKey({ endpoint, region, forcePathStyle, credentials, client }: S3StorageOptions): string {
  return JSON.stringify([endpoint, region, forcePathStyle, identity(credentials), identity(client)]);
}

function identity(value: object | undefined): number | undefined {
  if (value === undefined) return undefined;
  let id = objectIds.get(value);
  if (id === undefined) {
    id = ++lastObjectId;
    objectIds.set(value, id);
  }
  return id;
}
