/** Entry names inside an `.eval` zip (eval-log-format.md §2). */
import type { SampleId } from '../sample-ref.js';

export const EntryName = {
  start: '_journal/start.json',
  header: 'header.json',
  summaries: 'summaries.json',
  reductions: 'reductions.json',
} as const;

const journalSummaryPattern = /^_journal\/summaries\/(\d+)\.json$/;
const configUpdatePattern = /^_journal\/config_updates\/(\d+)\.json$/;

export function journalSummaryName(index: number): string {
  return `_journal/summaries/${index}.json`;
}

/** The journal index of `_journal/summaries/<N>.json`, or undefined for any other name. */
export function journalSummaryIndex(name: string): number | undefined {
  const match = journalSummaryPattern.exec(name);
  return match ? Number(match[1]) : undefined;
}

/** The index of `_journal/config_updates/<N>.json`, or undefined for any other name. */
export function configUpdateIndex(name: string): number | undefined {
  const match = configUpdatePattern.exec(name);
  return match ? Number(match[1]) : undefined;
}

/**
 * `samples/<id>_epoch_<epoch>.json` with Python's `str(id)`: no escaping, so the int 1 and
 * the string "1" share a name, as they do in Inspect.
 */
export function sampleEntryName(id: SampleId, epoch: number): string {
  return `samples/${String(id)}_epoch_${epoch}.json`;
}

/** Inspect's sample enumeration rule: every member under `samples/` ending in `.json`. */
export function isSampleEntryName(name: string): boolean {
  return name.startsWith('samples/') && name.endsWith('.json');
}

/** Past this many bytes a sample entry name is refused: zip allows 65,535, and no real id comes near. */
export const maxSampleEntryNameBytes = 4096;

/**
 * Whether a name, once unzipped, stays inside the archive's own folders, as every unzip tool
 * needs: no `..` segment, no leading `/` or drive letter, no backslash, no NUL, and not absurdly long.
 */
export function isSafeEntryName(name: string): boolean {
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name) || name.includes('\\') || name.includes('\0')) return false;
  if (Buffer.byteLength(name, 'utf8') > maxSampleEntryNameBytes) return false;
  return !name.split('/').includes('..');
}
