/**
 * Recoverable problems (node-tar's model): a damaged segment, an unreadable side file. Work
 * goes on and each one is reported with a stable code; in strict mode the first one becomes
 * an error instead.
 */
import { InspectRecoverError } from './errors.js';

export type WarningCode =
  /** A segment file is missing, truncated, or not a zip: skipped. */
  | 'SEGMENT_UNREADABLE'
  /** A skipped segment held pool rows, so later pool positions of these samples are unreliable. */
  | 'POOL_GAP'
  /** A metadata side file is missing, unreadable, or does not match its hash: the summary's is used. */
  | 'METADATA_UNREADABLE'
  /** A sample had no uuid; a fresh one was made. */
  | 'UUID_SYNTHESIZED'
  /** A buffer row could not be parsed and was left out. */
  | 'ROW_UNREADABLE'
  /** The log's scorers use a metric or reducer this tool does not compute: no results written. */
  | 'RESULTS_NOT_RECOMPUTED'
  /** A log in a listed directory could not be read or described: left out of the listing. */
  | 'LOG_UNREADABLE'
  /** The buffer database was found under another log directory's hash (the log dir was moved or renamed). */
  | 'BUFFER_RELOCATED'
  /** The log has no buffer at all: only its flushed samples are recovered; the others are lost. */
  | 'BUFFER_MISSING'
  /** The buffer may still belong to a live run (no proof either way): recovered, but the buffer is kept. */
  | 'BUFFER_KEPT'
  /** The log's start has no `eval.dataset.sample_ids`; the recovered log lists the ids it holds. */
  | 'SAMPLE_IDS_FILLED'
  /** A flushed sample entry fails its check (CRC, size, JSON) or holds a sample the log has already: left out. */
  | 'SAMPLE_DAMAGED'
  /** A flushed entry's name disagrees with the (id, epoch) it holds: copied under the name of what it holds. */
  | 'SAMPLE_RENAMED'
  /** A sample's entry name or id would unzip outside `samples/` (`..`, a leading `/`, a backslash, a NUL): left out. */
  | 'SAMPLE_NAME_UNSAFE'
  /** A buffered sample's rows have the wrong shape or absurd values: left out. */
  | 'SAMPLE_UNREADABLE'
  /** A journal summaries entry fails its check: left out; its samples are summarized from their own entries. */
  | 'JOURNAL_DAMAGED'
  /** The log has no end records (a partial copy, a full disk): its whole entries are recovered. */
  | 'LOG_TRUNCATED';

/**
 * The warnings that mean data did not make it into the output: always shown, `--quiet` or not.
 * The others say how something was done (a buffer kept, ids filled, a name settled).
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
]);

export function meansLostData(warning: RecoveryWarning): boolean {
  return lostDataCodes.has(warning.code);
}

export interface RecoveryWarning {
  code: WarningCode;
  message: string;
  /** What the warning is about: a segment id, sample keys, a file. */
  details?: Record<string, unknown>;
}

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

/** A sink that forwards warnings to the caller's handler, or throws in strict mode. */
export function warningSink({ onWarning, strict }: WarningOptions = {}): WarningHandler {
  return (warning) => {
    if (strict) throw new StrictModeError(warning);
    onWarning?.(warning);
  };
}
