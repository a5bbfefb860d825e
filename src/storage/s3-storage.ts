import { createReadStream } from 'node:fs';
import { stat as statFile } from 'node:fs/promises';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  PutObjectCommand,
  S3Client,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import type { ByteSource } from '../bytes/byte-source.js';
import type { S3StorageOptions } from './s3-options.js';
import { fileSystemError, InspectRecoverError, NotFoundError, StorageError, UsageError } from '../errors.js';
import { localPath } from './local-storage.js';
import { formatS3Location, joinS3Location, parseS3Location } from './s3-location.js';
import { defaultReadLimit, type ReadOptions, type Storage, type StorageStat, type StoredFile, type WriteOptions } from './storage.js';

// The AWS SDK prints a 9-line "NodeVersionSupportWarning" on stderr at the first S3 client on
// Node < 22, which this package supports: for a library's users and for the CLI's one-line
// stderr alike, it is noise. A user's own setting is kept.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';


type S3Action = 'read' | 'write' | 'copy' | 'list' | 'delete' | 'stat';

/** DeleteObjects accepts at most this many keys per request. */
const deleteBatchSize = 1000;

// The SDK prints some warnings with console.warn unless it is given a logger; a library stays silent.
const silentLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

/** Objects in S3 or an S3-compatible store. Every SDK failure becomes a NotFoundError or StorageError naming the location. */
export class S3Storage implements Storage {
  readonly kind = 's3' as const;
  readonly client: S3Client;
  private readonly endpointName: string;
  private readonly ownsClient: boolean;
  private taggingRefused = false;

  constructor(options: S3StorageOptions = {}) {
    const endpoint = options.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
    const region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
    this.endpointName = endpoint ?? `https://s3.${region}.amazonaws.com`;
    this.ownsClient = options.client === undefined;
    this.client =
      // Typed as our own object (s3-options.ts) so the SDK's types stay out of the public ones.
      (options.client as S3Client | undefined) ??
      new S3Client({
        region,
        ...(endpoint === undefined ? {} : { endpoint }),
        forcePathStyle: options.forcePathStyle ?? endpoint !== undefined,
        ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
        // Newer SDKs add CRC checksums to every request and response; many S3-compatible servers reject them.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        followRegionRedirects: true,
        logger: silentLogger,
      });
  }

  /**
   * True once a tagged write was refused and succeeded untagged (spec B.7): tags are then left off
   * for the rest of this storage's life. Callers may report it as a warning.
   */
  get taggingDisabled(): boolean {
    return this.taggingRefused;
  }

  async read(location: string, { maxBytes = defaultReadLimit }: ReadOptions = {}): Promise<Uint8Array> {
    const { bucket, key } = parseS3Location(location);
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if ((response.ContentLength ?? 0) > maxBytes) {
        await (response.Body as { destroy?: () => void } | undefined)?.destroy?.();
        throw new StorageError(`${location}: ${response.ContentLength} bytes, more than this tool reads whole (${maxBytes}); not read`);
      }
      return await bodyBytes(response.Body);
    } catch (error) {
      throw this.failure(error, location, 'read');
    }
  }

  /**
   * `length` bytes from `offset` with a ranged GET. With `expectedEtag` the read fails with a
   * StorageError if the object was replaced since that ETag was seen (S3ByteSource uses it so a
   * zip is never read half from one version and half from another).
   */
  async readRange(location: string, offset: number, length: number, expectedEtag?: string): Promise<Uint8Array> {
    const { bucket, key } = parseS3Location(location);
    if (length === 0) return new Uint8Array(0);
    try {
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${offset}-${offset + length - 1}`, IfMatch: expectedEtag }),
      );
      return await bodyBytes(response.Body);
    } catch (error) {
      // A range starting at or past the end: the object is shorter than asked.
      if (errorName(error) === 'InvalidRange' || httpStatus(error) === 416) return new Uint8Array(0);
      if (errorName(error) === 'PreconditionFailed' || httpStatus(error) === 412) {
        throw new StorageError(`${location}: the object was replaced while it was being read`, error);
      }
      throw this.failure(error, location, 'read');
    }
  }

  /**
   * The object's last `length` bytes with its stat, from one suffix-range GET (its Content-Range
   * gives the size); undefined when there is no such object. An empty object, which has no
   * suffix to give, is read by its stat.
   */
  async readSuffix(location: string, length: number): Promise<{ bytes: Uint8Array; stat: StorageStat } | undefined> {
    const { bucket, key } = parseS3Location(location);
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=-${Math.max(1, length)}` }));
      const bytes = await bodyBytes(response.Body);
      const total = /\/(\d+)$/.exec(response.ContentRange ?? '')?.[1];
      const stat = { size: total === undefined ? bytes.length : Number(total), mtimeMs: response.LastModified?.getTime() ?? 0, etag: response.ETag ?? '' };
      return { bytes, stat };
    } catch (error) {
      if (errorName(error) === 'InvalidRange' || httpStatus(error) === 416) {
        const stat = await this.stat(location);
        return stat && { bytes: new Uint8Array(0), stat };
      }
      const failure = this.failure(error, location, 'read');
      if (failure instanceof NotFoundError) return undefined;
      throw failure;
    }
  }

  byteSource(location: string, known?: StorageStat): S3ByteSource {
    parseS3Location(location);
    return new S3ByteSource(this, location, known);
  }

  /** One PutObject: S3 replaces objects atomically. */
  async write(location: string, data: Uint8Array | string, options?: WriteOptions): Promise<void> {
    await this.put(location, () => ({ body: data }), options);
  }

  /**
   * Streams the file in one PutObject. Past 5 GB (S3's single-PUT limit) this would need a
   * multipart upload. The SDK does not retry streamed bodies, so a transient failure surfaces.
   */
  async writeFromFile(location: string, sourcePath: string, options?: WriteOptions): Promise<void> {
    const path = localPath(sourcePath);
    const source = await statFile(path).catch((error: unknown) => {
      throw fileSystemError(error, path, 'read');
    });
    if (source.isDirectory()) throw fileSystemError({ code: 'EISDIR' }, path, 'read');
    // A fresh stream per attempt: a consumed stream cannot be sent again.
    await this.put(location, () => ({ body: createReadStream(path), contentLength: source.size }), options);
  }

  /** Server-side CopyObject: atomic, like a PUT (single request up to 5 GB). */
  async copy(from: string, to: string, options?: WriteOptions): Promise<void> {
    const source = parseS3Location(from);
    const { bucket, key } = parseS3Location(to);
    const tagging = this.taggingRefused ? undefined : taggingQuery(options?.tags);
    const send = (withTagging: string | undefined) =>
      this.client.send(
        new CopyObjectCommand({
          Bucket: bucket,
          Key: key,
          CopySource: encodeURIComponent(`${source.bucket}/${source.key}`),
          ...(withTagging === undefined ? {} : { TaggingDirective: 'REPLACE', Tagging: withTagging }),
        }),
      );
    try {
      await send(tagging);
    } catch (error) {
      if (tagging === undefined || !isTaggingRefusal(error)) throw this.failure(error, from, 'copy');
      await send(undefined).catch((retryError: unknown) => {
        throw this.failure(retryError, from, 'copy');
      });
      this.taggingRefused = true;
    }
  }

  async list(directory: string): Promise<string[]> {
    const { bucket, key } = parseS3Location(directory);
    const prefix = key === '' ? '' : `${key}/`;
    const names = new Set<string>();
    try {
      for await (const page of paginateListObjectsV2({ client: this.client }, { Bucket: bucket, Prefix: prefix, Delimiter: '/' })) {
        for (const object of page.Contents ?? []) names.add(object.Key?.slice(prefix.length) ?? '');
        for (const common of page.CommonPrefixes ?? []) names.add(common.Prefix?.slice(prefix.length, -1) ?? '');
      }
    } catch (error) {
      throw this.failure(error, directory, 'list');
    }
    // '' is a "directory marker" object named exactly like the prefix, not a child.
    names.delete('');
    return [...names].sort();
  }

  async walk(directory: string): Promise<StoredFile[]> {
    const { bucket, key } = parseS3Location(directory);
    const prefix = key === '' ? '' : `${key}/`;
    const files: StoredFile[] = [];
    try {
      for await (const page of paginateListObjectsV2({ client: this.client }, { Bucket: bucket, Prefix: prefix })) {
        for (const object of page.Contents ?? []) {
          const relative = object.Key?.slice(prefix.length) ?? '';
          // A "directory marker" (a key ending in /) is not a file.
          if (relative === '' || relative.endsWith('/')) continue;
          const stat = { size: object.Size ?? 0, mtimeMs: object.LastModified?.getTime() ?? 0, etag: object.ETag ?? '' };
          files.push({ location: formatS3Location({ bucket, key: object.Key! }), relative, stat });
        }
      }
    } catch (error) {
      throw this.failure(error, directory, 'list');
    }
    return files.sort((a, b) => (a.location < b.location ? -1 : a.location > b.location ? 1 : 0));
  }

  async delete(location: string): Promise<void> {
    const { bucket, key } = parseS3Location(location);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    } catch (error) {
      const failure = this.failure(error, location, 'delete');
      if (!(failure instanceof NotFoundError && errorName(error) !== 'NoSuchBucket')) throw failure;
    }
  }

  async deleteTree(directory: string): Promise<void> {
    const { bucket, key } = parseS3Location(directory);
    if (key === '') throw new UsageError(`${directory}: refusing to delete every object in a bucket`);
    const keys: string[] = [];
    try {
      for await (const page of paginateListObjectsV2({ client: this.client }, { Bucket: bucket, Prefix: `${key}/` })) {
        for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key);
      }
      for (let start = 0; start < keys.length; start += deleteBatchSize) {
        const batch = keys.slice(start, start + deleteBatchSize);
        const response = await this.client.send(
          new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
        );
        const first = response.Errors?.[0];
        if (first) {
          const failed = formatS3Location({ bucket, key: first.Key ?? '?' });
          throw new StorageError(
            `${directory}: cannot delete ${response.Errors?.length} object(s), e.g. ${failed}: ${first.Code ?? 'error'} ${oneLine(first.Message ?? '')}`.trim(),
          );
        }
      }
    } catch (error) {
      throw this.failure(error, directory, 'delete');
    }
  }

  async createExclusive(location: string, data: Uint8Array | string): Promise<string | undefined> {
    return this.conditionalPut(location, data, { IfNoneMatch: '*' });
  }

  async readTagged(location: string): Promise<{ data: Uint8Array; etag: string } | undefined> {
    const { bucket, key } = parseS3Location(location);
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return { data: await bodyBytes(response.Body), etag: response.ETag ?? '' };
    } catch (error) {
      const failure = this.failure(error, location, 'read');
      if (failure instanceof NotFoundError && errorName(error) !== 'NoSuchBucket') return undefined;
      throw failure;
    }
  }

  async deleteIfTagged(location: string, etag: string): Promise<boolean> {
    const { bucket, key } = parseS3Location(location);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, IfMatch: etag }));
      return true;
    } catch (error) {
      const status = httpStatus(error);
      const name = errorName(error);
      if (status === 412 || status === 409 || status === 404 || name === 'PreconditionFailed' || name === 'ConditionalRequestConflict' || name === 'NoSuchKey') return false;
      throw this.failure(error, location, 'delete');
    }
  }

  async replaceIfTagged(location: string, data: Uint8Array | string, etag: string): Promise<string | undefined> {
    return this.conditionalPut(location, data, { IfMatch: etag });
  }

  /** A PUT that S3 refuses with 412 (or 409 for a concurrent conditional write) when its condition fails. */
  private async conditionalPut(
    location: string,
    data: Uint8Array | string,
    condition: { IfNoneMatch: string } | { IfMatch: string },
  ): Promise<string | undefined> {
    const { bucket, key } = parseS3Location(location);
    try {
      const response = await this.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: data, ...condition }));
      return response.ETag ?? '';
    } catch (error) {
      const status = httpStatus(error);
      const name = errorName(error);
      if (status === 412 || status === 409 || name === 'PreconditionFailed' || name === 'ConditionalRequestConflict') return undefined;
      // If-Match on an object that is gone.
      if ('IfMatch' in condition && (name === 'NoSuchKey' || status === 404)) return undefined;
      throw this.failure(error, location, 'write');
    }
  }

  /** undefined when there is no such object. A missing bucket also gives undefined: HEAD responses have no body to tell them apart. */
  async stat(location: string): Promise<StorageStat | undefined> {
    const { bucket, key } = parseS3Location(location);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { size: head.ContentLength ?? 0, mtimeMs: head.LastModified?.getTime() ?? 0, etag: head.ETag ?? '' };
    } catch (error) {
      const failure = this.failure(error, location, 'stat');
      if (failure instanceof NotFoundError) return undefined;
      throw failure;
    }
  }

  join(directory: string, ...names: string[]): string {
    return joinS3Location(directory, ...names);
  }

  /** Closes the connections of a client this storage created (a client passed in stays open). */
  destroy(): void {
    if (this.ownsClient) this.client.destroy();
  }

  private async put(
    location: string,
    content: () => { body: NonNullable<PutObjectCommandInput['Body']>; contentLength?: number },
    options: WriteOptions | undefined,
  ): Promise<void> {
    const { bucket, key } = parseS3Location(location);
    const tagging = this.taggingRefused ? undefined : taggingQuery(options?.tags);
    const send = async (withTagging: string | undefined): Promise<void> => {
      const { body, contentLength } = content();
      try {
        await this.client.send(
          new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: contentLength, Tagging: withTagging }),
        );
      } finally {
        if (typeof body === 'object' && 'destroy' in body && typeof body.destroy === 'function') body.destroy();
      }
    };
    try {
      await send(tagging);
    } catch (error) {
      if (tagging === undefined || !isTaggingRefusal(error)) throw this.failure(error, location, 'write');
      // Spec B.7: callers without s3:PutObjectTagging get AccessDenied on tagged writes; write untagged.
      try {
        await send(undefined);
      } catch (retryError) {
        throw this.failure(retryError, location, 'write');
      }
      this.taggingRefused = true;
    }
  }

  /** One readable line naming the location, whatever the SDK or the network threw. */
  private failure(error: unknown, location: string, action: S3Action): InspectRecoverError {
    if (error instanceof InspectRecoverError) return error;
    const name = errorName(error);
    const status = httpStatus(error);
    const network = networkErrorCode(error);
    if (name === 'NoSuchBucket') {
      return new NotFoundError(`${location}: no such bucket "${parseS3Location(location).bucket}"`, error);
    }
    if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) return new NotFoundError(`${location}: no such object`, error);
    if (name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || name === 'ExpiredToken') {
      return new StorageError(`${location}: S3 rejected the credentials (${name}) (${action})`, error);
    }
    if (name === 'AccessDenied' || status === 403) return new StorageError(`${location}: access denied (${action})`, error);
    if (name === 'CredentialsProviderError') {
      return new StorageError(`${location}: no AWS credentials found (${action}): ${oneLine(messageOf(error))}`, error);
    }
    if (network !== undefined) {
      return new StorageError(`${location}: cannot reach the S3 endpoint ${this.endpointName} (${network}) (${action})`, error);
    }
    const detail = [name, status === undefined ? '' : `HTTP ${status}`, oneLine(messageOf(error))].filter((part) => part !== '');
    return new StorageError(`${location}: cannot ${action}: ${[...new Set(detail)].join(': ')}`, error);
  }
}

/** Random access to one S3 object with ranged GETs, pinned to the version first seen. */
export class S3ByteSource implements ByteSource {
  private head: Promise<StorageStat> | undefined;

  constructor(
    private readonly storage: S3Storage,
    readonly name: string,
    known?: StorageStat,
  ) {
    if (known) this.head = Promise.resolve(known);
  }

  async size(): Promise<number> {
    return (await this.object()).size;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const { etag } = await this.object();
    return this.storage.readRange(this.name, offset, length, etag === '' ? undefined : etag);
  }

  /** Without a stat yet, one suffix GET, whose version then pins every later read; with one, a pinned range read. */
  async readEnd(length: number): Promise<{ bytes: Uint8Array; size: number }> {
    if (this.head) {
      const { size } = await this.object();
      const start = Math.max(0, size - length);
      return { bytes: await this.read(start, size - start), size };
    }
    const found = await this.storage.readSuffix(this.name, length);
    if (!found) throw new NotFoundError(`${this.name}: no such object`);
    if (this.head && (await this.object()).etag !== found.stat.etag) throw new StorageError(`${this.name}: the object was replaced while it was being read`);
    this.head ??= Promise.resolve(found.stat);
    return { bytes: found.bytes, size: found.stat.size };
  }

  async close(): Promise<void> {}

  /** The HEAD result, cached; a failed HEAD is forgotten so the next call asks again. */
  private object(): Promise<StorageStat> {
    if (!this.head) {
      const head = this.storage.stat(this.name).then((found) => {
        if (!found) throw new NotFoundError(`${this.name}: no such object`);
        return found;
      });
      head.catch(() => {
        if (this.head === head) this.head = undefined;
      });
      this.head = head;
    }
    return this.head;
  }
}

async function bodyBytes(body: { transformToByteArray(): Promise<Uint8Array> } | undefined): Promise<Uint8Array> {
  return body ? body.transformToByteArray() : new Uint8Array(0);
}

function taggingQuery(tags: Record<string, string> | undefined): string | undefined {
  if (tags === undefined || Object.keys(tags).length === 0) return undefined;
  return new URLSearchParams(tags).toString();
}

/** Spec B.7: AccessDenied / 403, or "accessdenied" or "tagging" anywhere in the cause chain. */
function isTaggingRefusal(error: unknown): boolean {
  if (httpStatus(error) === 403) return true;
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    if (/accessdenied|tagging/i.test(`${current.name} ${current.message}`)) return true;
  }
  return false;
}

function errorName(error: unknown): string {
  const name = (error as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' ? name : '';
}

function httpStatus(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

/** The socket error code of a failed connection (Node reports several at once as an AggregateError). */
function networkErrorCode(error: unknown): string | undefined {
  const candidates = [error, ...((error as { errors?: unknown[] } | undefined)?.errors ?? [])];
  for (const candidate of candidates) {
    const code = (candidate as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string' && networkCodes.has(code)) return code;
  }
  return errorName(error) === 'TimeoutError' ? 'timed out' : undefined;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
