/**
 * Expected failures: bad input, missing files, refused operations (changesets' model). Each
 * carries a stable `code` for scripts and the exit code the CLI uses; each code has its class
 * below. Anything that is not an `InspectRecoverError` is an internal error (a bug) and is
 * reported as such.
 */
import type { WarningCode } from './warnings.js';

/** Every code an error can carry; a strict-mode failure carries the code of its warning. */
export type ErrorCode =
  | 'USAGE'
  | 'NOT_FOUND'
  | 'STORAGE'
  | 'ZIP_FORMAT'
  | 'ENTRY_DATA'
  | 'JSON_FORMAT'
  | 'EVAL_LOG_FORMAT'
  | 'BUFFER_DATABASE'
  | 'SQLITE_UNAVAILABLE'
  | 'RECOVERY_NOT_AVAILABLE'
  | 'LOG_LEASED'
  | 'LOG_START'
  | 'RESUME_MISMATCH'
  | 'RESUME_REFUSED'
  | 'VERIFY_FAILED'
  | 'READER_CLOSED'
  | 'WRITER_CLOSED'
  | 'FILESTORE_REMOVED'
  | 'BUFFER_UNREADABLE'
  | WarningCode;

export class InspectRecoverError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;

  protected constructor(code: ErrorCode, message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = options?.exitCode ?? 1;
  }
}

/** The command line was wrong: unknown option, missing argument. */
export class UsageError extends InspectRecoverError {
  constructor(message: string) {
    super('USAGE', message, { exitCode: 2 });
  }
}

/** A file that should be an Inspect sample-buffer database is not one, or SQLite cannot read it. */
export class BufferDatabaseError extends InspectRecoverError {
  constructor(message: string, cause?: unknown) {
    super('BUFFER_DATABASE', message, { cause });
  }
}

/** A file, object or directory does not exist or cannot be opened. */
export class NotFoundError extends InspectRecoverError {
  constructor(message: string, cause?: unknown) {
    // A missing input is a mistake in the command, as a missing directory is: exit 2.
    super('NOT_FOUND', message, { cause, exitCode: 2 });
  }
}

/** Reading or writing storage failed: permissions, I/O, a refused request. */
export class StorageError extends InspectRecoverError {
  constructor(message: string, cause?: unknown) {
    super('STORAGE', message, { cause });
  }
}

/** The bytes are not a well-formed zip archive. */
export class ZipFormatError extends InspectRecoverError {
  constructor(message: string) {
    super('ZIP_FORMAT', message);
  }
}

/** An entry's data is damaged: bad CRC, wrong size, undecodable stream, unsupported method. */
export class EntryDataError extends InspectRecoverError {
  constructor(message: string, cause?: unknown) {
    super('ENTRY_DATA', message, { cause });
  }
}

/** A JSON document could not be parsed or does not have the shape Inspect writes. */
export class JsonFormatError extends InspectRecoverError {
  constructor(message: string, cause?: unknown) {
    super('JSON_FORMAT', message, { cause });
  }
}

/** A zip that is not a readable Inspect `.eval` log (for example, no start journal). */
export class EvalLogFormatError extends InspectRecoverError {
  constructor(message: string) {
    super('EVAL_LOG_FORMAT', message);
  }
}

/** Node's own file system errors, turned into one readable line naming the path. */
export function fileSystemError(error: unknown, path: string, action: string): InspectRecoverError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return new NotFoundError(`${path}: no such file or directory`, error);
    case 'EACCES':
    case 'EPERM':
      return new StorageError(`${path}: permission denied (${action})`, error);
    case 'EISDIR':
      return new StorageError(`${path}: is a directory, not a file`, error);
    case 'ENOTDIR':
      return new NotFoundError(`${path}: a parent of this path is not a directory`, error);
    case 'ENOSPC':
      return new StorageError(`${path}: no space left on device (${action})`, error);
    default:
      return new StorageError(`${path}: cannot ${action}: ${(error as Error)?.message ?? String(error)}`, error);
  }
}

/**
 * The log cannot be recovered as asked: it finished, it has no buffer, a successful log for
 * its task would be shadowed, or its buffer is still being written. A usage-level refusal.
 */
export class RecoveryNotAvailable extends InspectRecoverError {
  constructor(message: string) {
    super('RECOVERY_NOT_AVAILABLE', message, { exitCode: 2 });
  }
}

/** The log is not a crashed one: it has its header (finished, or recovered already). */
export class LogFinishedError extends RecoveryNotAvailable {}

/** Another recovery of the same log holds its lease (recover/recovery-lease.ts). */
export class LogLeasedError extends InspectRecoverError {
  constructor(message: string) {
    super('LOG_LEASED', message, { exitCode: 2 });
  }
}

/** A log start that Inspect could not read logs written from; the message names the field. */
export class LogStartError extends InspectRecoverError {
  constructor(message: string) {
    super('LOG_START', message, { exitCode: 2 });
  }
}

/** A run resumed with another task, other task arguments, other sample ids or epochs than its log's: the message names each difference. */
export class ResumeMismatchError extends InspectRecoverError {
  constructor(
    message: string,
    /** The fields that differ (`eval.task`, `eval.task_args`, `eval.dataset.sample_ids`, `eval.config.epochs`). */
    readonly fields: string[],
  ) {
    super('RESUME_MISMATCH', message, { exitCode: 2 });
  }
}

/** A log that cannot be resumed: finished successfully, still running, or not an eval log. */
export class ResumeRefusedError extends InspectRecoverError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RESUME_REFUSED', message, { exitCode: 2, ...options });
  }
}

/** The runtime has no SQLite engine (no node:sqlite, better-sqlite3 not built): buffer databases cannot be used. */
export class SqliteUnavailableError extends InspectRecoverError {
  constructor(message: string, cause?: unknown) {
    super('SQLITE_UNAVAILABLE', message, { cause });
  }
}

/** The recovered log did not read back whole: nothing was published. */
export class VerifyFailedError extends InspectRecoverError {
  constructor(message: string) {
    super('VERIFY_FAILED', message);
  }
}

/** A zip reader was used after `close()`. */
export class ReaderClosedError extends InspectRecoverError {
  constructor(message: string) {
    super('READER_CLOSED', message);
  }
}

/** A log writer was used after it finished or was closed. */
export class WriterClosedError extends InspectRecoverError {
  constructor(message: string) {
    super('WRITER_CLOSED', message);
  }
}

/** A filestore sync was asked to write after its filestore was removed. */
export class FilestoreRemovedError extends InspectRecoverError {
  constructor(message: string) {
    super('FILESTORE_REMOVED', message);
  }
}

/**
 * A buffer that is there but cannot be read as a whole (a filestore whose manifest is not a
 * file, too large or not a manifest): recovery goes on as if it had none, saying why.
 */
export class BufferUnreadableError extends InspectRecoverError {
  constructor(message: string, cause?: unknown) {
    super('BUFFER_UNREADABLE', message, { cause });
  }
}
