/**
 * How the CLI shows values to people: sizes, and locations relative to where the command was
 * run (an s3:// URI as it is).
 */
import { relative } from 'node:path';
import { isS3Location } from '../storage/s3-location.js';

/** Bytes as people read them: `512 B`, `3.4 MiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

/** A path relative to the working directory (itself when that is empty), an s3:// URI unchanged. */
export function shownLocation(location: string): string {
  return isS3Location(location) ? location : relative(process.cwd(), location) || location;
}
