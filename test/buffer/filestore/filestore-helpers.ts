/** Inputs for the filestore tests: writable copies of the Inspect fixtures, hand-built filestores, a counting storage. */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { filestoreDirForLog, segmentFileName } from '../../../src/buffer/filestore/layout.js';
import { CompressionMethod } from '../../../src/codec/compression-method.js';
import { parsePythonJson, stringifyPythonJson } from '../../../src/json/python-json.js';
import { LocalStorage } from '../../../src/storage/local-storage.js';
import type { RecoveryWarning } from '../../../src/warnings.js';
import { ZipWriter } from '../../../src/zip/zip-writer.js';
import { inspectFixture } from '../../support/shared-fixtures.js';

export const crashedLogName = '2026-11-22T13-41-38-00-00_arith_Uot4jnS8UzLQ6p656KMACS.eval';
export const largeLogName = '2026-11-22T13-42-00-00-00_arith-fast_2VAgAbhyGnugayT9nhQ37M.eval';

export type FixtureName = 'crashed-filestore' | 'large';

export function fixtureLogLocation(fixture: FixtureName): string {
  return inspectFixture(fixture, fixture === 'large' ? largeLogName : crashedLogName);
}

/**
 * Copies a fixture's `.buffer/<name>/` into `logDir` as plain writable files (the fixtures are
 * read-only, and a copy of their modes would be too). Returns the log location to open.
 */
export async function copyFixtureLayout(fixture: FixtureName, logDir: string): Promise<{ logLocation: string; bufferDir: string }> {
  const source = filestoreDirForLog(fixtureLogLocation(fixture));
  const logLocation = join(logDir, fixture === 'large' ? largeLogName : crashedLogName);
  const bufferDir = filestoreDirForLog(logLocation);
  await mkdir(bufferDir, { recursive: true });
  for (const name of await readdir(source)) await writeFile(join(bufferDir, name), await readFile(join(source, name)));
  return { logLocation, bufferDir };
}

/** Every file of a local directory, name → bytes (for uploading a layout to S3). */
export async function directoryFiles(directory: string): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for (const name of await readdir(directory)) files.set(name, await readFile(join(directory, name)));
  return files;
}

/** Collects warnings; pass `onWarning` to the reader. */
export function warningCollector(): { warnings: RecoveryWarning[]; onWarning: (warning: RecoveryWarning) => void; ofCode(code: string): RecoveryWarning[] } {
  const warnings: RecoveryWarning[] = [];
  return {
    warnings,
    onWarning: (warning) => warnings.push(warning),
    ofCode: (code) => warnings.filter((warning) => warning.code === code),
  };
}

/** Bytes that are no zip archive, the same on every run. */
export function noiseBytes(length: number, seed = 7): Uint8Array {
  const bytes = new Uint8Array(length);
  let state = seed;
  for (let i = 0; i < length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}

export async function readManifestJson(bufferDir: string): Promise<Record<string, unknown> & { samples: Array<Record<string, unknown>> }> {
  return parsePythonJson(await readFile(join(bufferDir, 'manifest.json'), 'utf8'), 'manifest') as Record<string, unknown> & {
    samples: Array<Record<string, unknown>>;
  };
}

export async function writeManifestJson(bufferDir: string, manifest: unknown): Promise<void> {
  await writeFile(join(bufferDir, 'manifest.json'), stringifyPythonJson(manifest));
}

/** Writes `segment.<id>.zip` with one member per entry, each serialized as JSON. */
export async function writeSegment(
  bufferDir: string,
  segmentId: number,
  members: Record<string, unknown>,
  method: number = CompressionMethod.deflate,
): Promise<string> {
  const path = join(bufferDir, segmentFileName(segmentId));
  const writer = await ZipWriter.create(path);
  for (const [name, data] of Object.entries(members)) await writer.add(name, JSON.stringify(data, null, 2), { method });
  await writer.close();
  return path;
}

/** Rows of a hand-built SampleData member, with Inspect's keys. */
export const rows = {
  event(id: number, eventId: string, sampleId: string, event: Record<string, unknown>) {
    return { id, event_id: eventId, sample_id: sampleId, epoch: 1, event };
  },
  attachment(id: number, sampleId: string, hash: string, content: string) {
    return { id, sample_id: sampleId, epoch: 1, hash, content };
  },
  message(id: number, sampleId: string, content: string) {
    return { id, sample_id: sampleId, epoch: 1, msg_id: `m${id}`, data: JSON.stringify({ role: 'user', content }) };
  },
  call(id: number, sampleId: string, value: unknown) {
    return { id, sample_id: sampleId, epoch: 1, hash: `c${id}`, data: JSON.stringify(value) };
  },
};

/** A storage that records which locations were opened or read, delegating to local disk. */
export class CountingStorage extends LocalStorage {
  readonly opened: string[] = [];

  override byteSource(location: string) {
    this.opened.push(location);
    return super.byteSource(location);
  }

  override async read(location: string): Promise<Uint8Array> {
    this.opened.push(location);
    return super.read(location);
  }
}
