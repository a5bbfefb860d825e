/**
 * Recoverable problems (node-tar's model): a damaged segment, an unreadable side file. Work
 * goes on and each one is reported with a stable code; in strict mode the first one becomes
 * an error instead.
 */
import { InspectRecoverError } from './errors.js';
import type { SampleId, SampleRef } from './sample-ref.js';

/** Each warning's code, and what its `details` say. */
export interface WarningDetails {
  /** A segment file is missing, truncated, or not a zip: skipped. */
  SEGMENT_UNREADABLE: { segmentId: number; location: string; samples: SampleRef[]; reason: string };
  /** A skipped segment held pool rows, so later pool positions of these samples are unreliable. */
  POOL_GAP: { sample: SampleRef; segmentIds: number[]; soundRows: { messagePool: number; callPool: number } };
  /** A metadata side file is missing, unreadable, or does not match its hash: the summary's is used. */
  METADATA_UNREADABLE: { sample: SampleRef; reason: string; metadataHash?: string | null };
  /** A sample had no uuid; a fresh one was made. */
  UUID_SYNTHESIZED: { id: SampleId; epoch: number };
  /** A buffer row could not be parsed and was left out. */
  ROW_UNREADABLE: { segmentId: number; location: string; sample: SampleRef; rows: string[] };
  /** The log's scorers use a metric or reducer this tool does not compute: no results written. */
  RESULTS_NOT_RECOMPUTED: { unsupported: string };
  /** A log in a listed directory could not be read or described: left out of the listing. */
  LOG_UNREADABLE: { path: string };
  /** The buffer database was found under another log directory's hash (the log dir was moved or renamed). */
  BUFFER_RELOCATED: { found: string };
  /** The log has no buffer at all: only its flushed samples are recovered; the others are lost. */
  BUFFER_MISSING: { flushed: number; expected: number };
  /** The buffer may still belong to a live run (no proof either way): recovered, but the buffer is kept. */
  BUFFER_KEPT: { buffer: string };
  /** The log's start has no `eval.dataset.sample_ids`; the recovered log lists the ids it holds. */
  SAMPLE_IDS_FILLED: Record<string, never>;
  /** A flushed sample entry fails its check (CRC, size, JSON) or holds a sample the log has already: left out. */
  SAMPLE_DAMAGED: { entry: string };
  /** A flushed entry's name disagrees with the (id, epoch) it holds: copied under the name of what it holds. */
  SAMPLE_RENAMED: { entry: string; name: string };
  /** A sample's entry name or id would unzip outside `samples/` (`..`, a leading `/`, a backslash, a NUL): left out. */
  SAMPLE_NAME_UNSAFE: { entry: string } | { id: string; epoch: number };
  /** A buffered sample's rows have the wrong shape or absurd values: left out. */
  SAMPLE_UNREADABLE: { id: string; epoch: number };
  /** A journal summaries entry fails its check: left out; its samples are summarized from their own entries. */
  JOURNAL_DAMAGED: { entry: string };
  /** Entries of the log whose data share bytes (a damaged directory, or a zip bomb): left out, the rest of the log read. */
  ENTRIES_OVERLAP: { entries: string[]; count: number };
  /** A value read from a buffer has the wrong type or form: ignored, and the next evidence used instead. */
  VALUE_INVALID: { field: string; value: string };
  /** A WAL-mode buffer database without its `-wal` (or a `-wal` without its database): rows since the last checkpoint are missing. */
  WAL_MISSING: { database: string };
  /** The log has no end records (a partial copy, a full disk): its whole entries are recovered. */
  LOG_TRUNCATED: { entries: number; stoppedAt: number };
  /** The log has agent checkpoints that eval-retry of the output will not find (another base name or directory). */
  CHECKPOINTS_UNLINKED: { checkpoints: string; output: string };
}

export type WarningCode = keyof WarningDetails;

/**
 * The warnings that mean data did not make it into the output, or that eval-retry will not find
 * it (unlinked checkpoints): always shown, `--quiet` or not. The others say how something was
 * done (a buffer kept, ids filled, a name settled).
 */
const lostDataCodes: ReadonlySet<WarningCode> = new Set<WarningCode>([
  'SEGMENT_UNREADABLE',
  'POOL_GAP',
  'METADATA_UNREADABLE',
  'ROW_UNREADABLE',
  'BUFFER_MISSING',
  'SAMPLE_DAMAGED',
  'SAMPLE_NAME_UNSAFE',
  'SAMPLE_UNREADABLE',
  'LOG_TRUNCATED',
  'ENTRIES_OVERLAP',
  'WAL_MISSING',
  'CHECKPOINTS_UNLINKED',
]);

export function meansLostData(warning: RecoveryWarning): boolean {
  return lostDataCodes.has(warning.code);
}

/** A warning of one code: what happened, to which log, with the details its code defines. */
export interface CodedWarning<C extends WarningCode> {
  code: C;
  message: string;
  /** The log it concerns (set by the sink of a recovery or listing when the layer below did not know it). */
  log?: string;
  details?: WarningDetails[C];
}

/** A warning as handlers receive it: any code, its details as a plain record (built typed by `warnings`). */
export interface RecoveryWarning {
  code: WarningCode;
  message: string;
  log?: string;
  details?: Record<string, unknown>;
}

function ofCode<C extends WarningCode>(code: C) {
  return (message: string, details: WarningDetails[C], log?: string): CodedWarning<C> => ({ code, message, ...(log === undefined ? {} : { log }), details });
}

/** One constructor per code, so that each warning's details have their code's shape. */
export const warnings = {
  segmentUnreadable: ofCode('SEGMENT_UNREADABLE'),
  poolGap: ofCode('POOL_GAP'),
  metadataUnreadable: ofCode('METADATA_UNREADABLE'),
  uuidSynthesized: ofCode('UUID_SYNTHESIZED'),
  rowUnreadable: ofCode('ROW_UNREADABLE'),
  resultsNotRecomputed: ofCode('RESULTS_NOT_RECOMPUTED'),
  logUnreadable: ofCode('LOG_UNREADABLE'),
  bufferRelocated: ofCode('BUFFER_RELOCATED'),
  bufferMissing: ofCode('BUFFER_MISSING'),
  bufferKept: ofCode('BUFFER_KEPT'),
  sampleIdsFilled: ofCode('SAMPLE_IDS_FILLED'),
  sampleDamaged: ofCode('SAMPLE_DAMAGED'),
  sampleRenamed: ofCode('SAMPLE_RENAMED'),
  sampleNameUnsafe: ofCode('SAMPLE_NAME_UNSAFE'),
  sampleUnreadable: ofCode('SAMPLE_UNREADABLE'),
  journalDamaged: ofCode('JOURNAL_DAMAGED'),
  logTruncated: ofCode('LOG_TRUNCATED'),
  valueInvalid: ofCode('VALUE_INVALID'),
  entriesOverlap: ofCode('ENTRIES_OVERLAP'),
  walMissing: ofCode('WAL_MISSING'),
  checkpointsUnlinked: ofCode('CHECKPOINTS_UNLINKED'),
} as const;

export type WarningHandler = (warning: RecoveryWarning) => void;

export class StrictModeError extends InspectRecoverError {
  constructor(readonly warning: RecoveryWarning) {
    super(warning.code, `${warning.message} (strict mode)`);
  }
}

export interface WarningOptions {
  onWarning?: WarningHandler;
  /** Turn every warning into a thrown StrictModeError. */
  strict?: boolean;
}

/**
 * A sink that forwards warnings to the caller's handler, or throws in strict mode. With `log`,
 * a warning raised below (a segment, a zip entry) that does not name its log is given that one.
 */
export function warningSink({ onWarning, strict }: WarningOptions = {}, context: { log?: string } = {}): WarningHandler {
  return (warning) => {
    const placed = warning.log === undefined && context.log !== undefined ? { ...warning, log: context.log } : warning;
    if (strict) throw new StrictModeError(placed);
    onWarning?.(placed);
  };
}
