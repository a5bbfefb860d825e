/**
 * Expected failures: bad input, missing files, refused operations. Each carries a stable
 * `code` for scripts and the exit code the CLI uses. Anything that is not an
 * `InspectRecoverError` is an internal error (a bug) and is reported as such.
 */
export class InspectRecoverError extends Error {
  readonly code: string;
  readonly exitCode: number;

  constructor(code: string, message: string, options?: { cause?: unknown; exitCode?: number }) {
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

/** A file, object or directory does not exist or cannot be opened. */
export class NotFoundError extends InspectRecoverError {
  constructor(message: string, cause?: unknown) {
    super('NOT_FOUND', message, { cause });
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
