/**
 * The full metadata of a filestore sample (sample-buffer.md §B.3, recovery.md §4.1.7). Summaries
 * carry a thinned copy; the manifest's `metadata_hash` says where the full one is: `"summary"` (the
 * summary's copy is complete) or a side file `metadata.<K>.<H>.json` whose bytes hash to `<H>`.
 */
import { createHash } from 'node:crypto';
import { InspectRecoverError, NotFoundError } from '../../errors.js';
import { parsePythonJson } from '../../json/python-json.js';
import type { Storage } from '../../storage/storage.js';
import type { SampleSummary } from '../schemas.js';
import { isMetadataFileWithHash, metadataFileName } from './layout.js';

export type FilestoreSampleMetadata =
  /** The buffer holds none (the sample is still running, or thinning changed nothing). */
  | { status: 'absent' }
  | { status: 'present'; metadata: Record<string, unknown>; source: 'summary' | 'side-file' }
  | { status: 'unreadable'; reason: string };

export interface MetadataSource {
  storage: Storage;
  bufferDir: string;
  /** Names in the buffer directory, for finding a side file by its hash alone. */
  listBufferDir(): Promise<string[]>;
}

const sha256Hex = /^[0-9a-f]{64}$/;

export async function readSampleMetadata(
  source: MetadataSource,
  sample: { id: string; epoch: number; summary: SampleSummary; metadataHash: string | null },
): Promise<FilestoreSampleMetadata> {
  const hash = sample.metadataHash;
  if (hash === null) return { status: 'absent' };
  if (hash === 'summary') return { status: 'present', metadata: sample.summary.metadata ?? {}, source: 'summary' };
  // Also keeps a hostile manifest from naming a file outside the buffer directory.
  if (!sha256Hex.test(hash)) return { status: 'unreadable', reason: `metadata_hash ${JSON.stringify(hash)} is neither "summary" nor a SHA-256 hex digest` };
  try {
    const { location, bytes } = await readSideFile(source, sample.id, sample.epoch, hash);
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== hash) return { status: 'unreadable', reason: `${location}: content does not match its hash (SHA-256 is ${actual})` };
    const metadata = parsePythonJson(new TextDecoder().decode(bytes), location);
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
      return { status: 'unreadable', reason: `${location}: not a JSON object` };
    }
    return { status: 'present', metadata: metadata as Record<string, unknown>, source: 'side-file' };
  } catch (error) {
    if (error instanceof InspectRecoverError) return { status: 'unreadable', reason: error.message };
    throw error;
  }
}

/**
 * The side file under its expected name, else any side file with the same content hash: its bytes
 * are verified anyway, and this does not depend on how Inspect spelled `<K>` for unusual ids.
 */
async function readSideFile(source: MetadataSource, id: string, epoch: number, hash: string): Promise<{ location: string; bytes: Uint8Array }> {
  const location = source.storage.join(source.bufferDir, metadataFileName(id, epoch, hash));
  try {
    return { location, bytes: await source.storage.read(location) };
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
    const sameContent = (await source.listBufferDir()).find((name) => isMetadataFileWithHash(name, hash));
    if (sameContent === undefined) throw new NotFoundError(`${location}: side file not found`, error);
    const found = source.storage.join(source.bufferDir, sameContent);
    return { location: found, bytes: await source.storage.read(found) };
  }
}
