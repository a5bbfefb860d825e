import { UsageError } from '../errors.js';

/** An `s3://bucket/key` location taken apart. `key` is '' for the bucket itself. */
export interface S3Location {
  bucket: string;
  key: string;
}

const s3Scheme = /^s3:\/\//i;
// Lenient on purpose: besides today's rules (3-63 of [a-z0-9.-]) S3 still serves legacy
// us-east-1 buckets with capitals and underscores. What is refused can never be a bucket.
const bucketName = /^[A-Za-z0-9][A-Za-z0-9._-]{2,254}$/;

export function isS3Location(location: string): boolean {
  return s3Scheme.test(location);
}

/**
 * Splits an `s3://bucket/key` URI. The key is taken literally (no percent-decoding, as s3fs
 * does); trailing slashes are dropped because directory-like locations have none.
 */
export function parseS3Location(location: string): S3Location {
  if (!isS3Location(location)) throw new UsageError(`${location}: not an s3:// location`);
  const rest = location.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  const key = slash === -1 ? '' : rest.slice(slash + 1).replace(/\/+$/, '');
  if (bucket === '') throw new UsageError(`${location}: an s3:// location needs a bucket name (s3://bucket/key)`);
  if (!bucketName.test(bucket)) throw new UsageError(`${location}: "${bucket}" is not a valid S3 bucket name`);
  return { bucket, key };
}

export function formatS3Location({ bucket, key }: S3Location): string {
  return key === '' ? `s3://${bucket}` : `s3://${bucket}/${key}`;
}

/** Joins a directory-like S3 location and relative names with '/'. */
export function joinS3Location(directory: string, ...names: string[]): string {
  const { bucket, key } = parseS3Location(directory);
  const parts = [key, ...names.map((name) => name.replace(/^\/+|\/+$/g, ''))].filter((part) => part !== '');
  return formatS3Location({ bucket, key: parts.join('/') });
}
