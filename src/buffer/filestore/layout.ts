/**
 * Where Inspect's segment filestore lives and how its files are named (sample-buffer.md §B.2):
 * `<log dir>/.buffer/<log file name without its last extension>/` holding `manifest.json`,
 * `segment.<N>.zip` and `metadata.<K>.<H>.json`.
 */
import { createHash } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { UsageError } from '../../errors.js';
import type { SampleId } from '../../sample-ref.js';
import { localPath } from '../../storage/local-storage.js';
import { formatS3Location, isS3Location, parseS3Location } from '../../storage/s3-location.js';

export const bufferDirName = '.buffer';
export const manifestFileName = 'manifest.json';

/** The filestore directory of a log: a local path, or an `s3://` URI for a log on S3. */
export function filestoreDirForLog(logLocation: string): string {
  if (!isS3Location(logLocation)) {
    const path = localPath(logLocation);
    return join(dirname(path), bufferDirName, withoutLastExtension(basename(path)));
  }
  const { bucket, key } = parseS3Location(logLocation);
  const slash = key.lastIndexOf('/');
  const fileName = key.slice(slash + 1);
  if (fileName === '') throw new UsageError(`${logLocation}: not a log file location (it names no file)`);
  const logDirKey = slash === -1 ? '' : key.slice(0, slash).replace(/\/+$/, '');
  const bufferKey = [logDirKey, bufferDirName, withoutLastExtension(fileName)].filter((part) => part !== '').join('/');
  return formatS3Location({ bucket, key: bufferKey });
}

export function segmentFileName(segmentId: number): string {
  return `segment.${segmentId}.zip`;
}

/** A sample's member in a segment zip: Python's `str(id)`, no escaping. */
export function segmentMemberName(sampleId: SampleId, epoch: number): string {
  return `${String(sampleId)}_${epoch}.json`;
}

/**
 * `<K>`: SHA-256 hex of `[str(id), epoch]` pretty-printed with 2-space indentation. The id is always
 * a JSON string, so the int 1 and the string "1" share a key.
 */
export function metadataKey(sampleId: SampleId, epoch: number): string {
  const text = `[\n  ${JSON.stringify(String(sampleId))},\n  ${epoch}\n]`;
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** `metadata.<K>.<H>.json`, where `<H>` (the sample's `metadata_hash`) is the SHA-256 of the file's bytes. */
export function metadataFileName(sampleId: SampleId, epoch: number, metadataHash: string): string {
  return `metadata.${metadataKey(sampleId, epoch)}.${metadataHash}.json`;
}

/** Whether a directory entry is a metadata side file with this content hash, whatever its key. */
export function isMetadataFileWithHash(fileName: string, metadataHash: string): boolean {
  return fileName.startsWith('metadata.') && fileName.endsWith(`.${metadataHash}.json`) && fileName.split('.').length === 4;
}

function withoutLastExtension(fileName: string): string {
  const dot = fileName.lastIndexOf('.');
  return dot > 0 ? fileName.slice(0, dot) : fileName;
}
