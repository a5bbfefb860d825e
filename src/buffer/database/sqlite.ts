/**
 * The one SQLite layer every buffer database goes through, over whichever engine the runtime
 * has: Node's own `node:sqlite` (Node 22.13+; no native build), else better-sqlite3 (an optional
 * dependency that compiles at install, for Node 20). Loaded on first use, so `show`, `--list` and
 * a recovery from the filestore need neither. `INSPECT_RECOVER_SQLITE=better-sqlite3` (or
 * `node:sqlite`) picks one where both exist.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { SqliteUnavailableError } from '../../errors.js';

export interface RunResult {
  changes: number | bigint;
}

export interface SqliteStatement {
  get(...parameters: unknown[]): unknown;
  all(...parameters: unknown[]): unknown[];
  iterate(...parameters: unknown[]): IterableIterator<unknown>;
  run(...parameters: unknown[]): RunResult;
  /** The same statement returning each row's first column instead of the row. */
  pluck(): SqliteStatement;
}

export interface SqliteDatabase {
  /** The file it opened. */
  readonly name: string;
  readonly open: boolean;
  prepare(sql: string): SqliteStatement;
  exec(sql: string): void;
  /** `PRAGMA <text>`: the first column of its first row, if it returns one. */
  pragma(text: string): unknown;
  /** `work` in one transaction: committed when it returns, rolled back when it throws. */
  transaction<T>(work: () => T): () => T;
  close(): void;
}

export interface OpenOptions {
  /** Refuse to create the file (default false). */
  fileMustExist?: boolean;
  /** How long to wait on another connection's lock, in ms (default 5 s). */
  timeout?: number;
}

export type SqliteEngine = 'node:sqlite' | 'better-sqlite3';

/**
 * A builtin through the runtime's registry (no file to resolve: it works inside the single
 * executable too); a package from beside this file, resolved only when it is wanted.
 */
function load(id: string): unknown {
  if (id.startsWith('node:')) return process.getBuiltinModule(id);
  return createRequire(import.meta.url)(id);
}

interface Engine {
  name: SqliteEngine;
  open(path: string, options: OpenOptions): SqliteDatabase;
  isError(error: unknown): boolean;
}

let engine: Engine | undefined;

/** Opens (or creates) a database with the runtime's engine; SqliteUnavailableError when it has none. */
export function openSqlite(path: string, options: OpenOptions = {}): SqliteDatabase {
  return sqliteEngine().open(path, options);
}

/** The engine in use (loading it): for messages and tests. */
export function sqliteEngineName(): SqliteEngine {
  return sqliteEngine().name;
}

/** Whether `error` is one of SQLite's own (not a database, corrupt, busy, constraint...). */
export function isSqliteError(error: unknown): boolean {
  return engine !== undefined && engine.isError(error);
}

function sqliteEngine(): Engine {
  if (engine) return engine;
  const wanted = process.env.INSPECT_RECOVER_SQLITE || undefined;
  if (wanted !== undefined && wanted !== 'node:sqlite' && wanted !== 'better-sqlite3') {
    throw new SqliteUnavailableError(`INSPECT_RECOVER_SQLITE=${wanted}: not an engine (use node:sqlite or better-sqlite3)`);
  }
  const failures: string[] = [];
  for (const [name, load] of [
    ['node:sqlite', loadNodeSqlite],
    ['better-sqlite3', loadBetterSqlite3],
  ] as const) {
    if (wanted && wanted !== name) continue;
    try {
      engine = load();
      return engine;
    } catch (error) {
      failures.push(`${name}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  throw new SqliteUnavailableError(
    `no SQLite engine could be loaded (${failures.join('; ')}): buffer databases cannot be read or written; ` +
      `use Node 22.13 or later (node:sqlite), or install better-sqlite3, letting its build run`,
  );
}

function loadBetterSqlite3(): Engine {
  const Database = load('better-sqlite3') as typeof BetterSqlite3;
  // Its native addon loads with the first database: installed without its build (--ignore-scripts), it is not there.
  new Database(':memory:').close();
  const wrap = (statement: BetterSqlite3.Statement): SqliteStatement => ({
    get: (...parameters) => statement.get(...parameters),
    all: (...parameters) => statement.all(...parameters),
    iterate: (...parameters) => statement.iterate(...parameters),
    run: (...parameters) => statement.run(...parameters),
    pluck: () => wrap(statement.pluck()),
  });
  return {
    name: 'better-sqlite3',
    isError: (error) => error instanceof Database.SqliteError,
    open(path, options) {
      const database = new Database(path, { fileMustExist: options.fileMustExist ?? false, timeout: options.timeout ?? 5000 });
      return {
        name: path,
        get open() {
          return database.open;
        },
        prepare: (sql) => wrap(database.prepare(sql)),
        exec: (sql) => void database.exec(sql),
        pragma: (text) => database.pragma(text, { simple: true }),
        transaction: (work) => database.transaction(work),
        close: () => void database.close(),
      };
    },
  };
}

interface NodeStatement {
  get(...parameters: unknown[]): unknown;
  all(...parameters: unknown[]): unknown[];
  iterate(...parameters: unknown[]): IterableIterator<unknown>;
  run(...parameters: unknown[]): RunResult;
  setReturnArrays(enabled: boolean): void;
  setReadBigInts(enabled: boolean): void;
}

interface NodeDatabase {
  readonly isOpen: boolean;
  readonly isTransaction: boolean;
  prepare(sql: string): NodeStatement;
  exec(sql: string): void;
  close(): void;
}

/**
 * node:sqlite refuses to read an integer past 2^53 as a number (a RangeError), where
 * better-sqlite3 gives the nearest number: such a value (a damaged or crafted buffer) is read
 * again as a bigint and given as better-sqlite3 gives it, so both engines read the same rows.
 */
function withLargeIntegers<T>(statement: NodeStatement, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    statement.setReadBigInts(true);
    try {
      return toNumbers(read());
    } finally {
      statement.setReadBigInts(false);
    }
  }
}

function toNumbers<T>(value: T): T {
  if (typeof value === 'bigint') return Number(value) as T;
  if (Array.isArray(value)) return value.map(toNumbers) as T;
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    const copy = Object.create(null) as Record<string, unknown>;
    for (const [key, item] of Object.entries(value)) copy[key] = toNumbers(item);
    return copy as T;
  }
  return value;
}

function loadNodeSqlite(): Engine {
  const { DatabaseSync } = withoutExperimentalWarning(
    () => {
      const sqlite = load('node:sqlite') as { DatabaseSync: new (path: string, options: Record<string, unknown>) => NodeDatabase } | undefined;
      if (!sqlite) throw new Error('this runtime has no node:sqlite');
      return sqlite;
    },
  );
  const wrap = (statement: NodeStatement, plucked: boolean): SqliteStatement => {
    // Rows come as null-prototype objects; callers (and deepEqual) expect plain ones, as better-sqlite3 gives.
    const shape = plucked ? (row: unknown) => (row as unknown[])[0] : (row: unknown) => ({ ...(row as object) });
    return {
      get: (...parameters) => {
        const row = withLargeIntegers(statement, () => statement.get(...parameters));
        return row === undefined ? undefined : shape(row);
      },
      all: (...parameters) => withLargeIntegers(statement, () => statement.all(...parameters)).map(shape),
      iterate: (...parameters) => stoppableIterator(statement.iterate(...parameters), shape),
      run: (...parameters) => statement.run(...parameters),
      pluck: () => {
        statement.setReturnArrays(true);
        return wrap(statement, true);
      },
    };
  };
  return {
    name: 'node:sqlite',
    isError: (error) => (error as { code?: unknown } | undefined)?.code === 'ERR_SQLITE_ERROR',
    open(path, options) {
      if (options.fileMustExist) assertExists(path);
      const database = new DatabaseSync(path, { timeout: options.timeout ?? 5000 });
      return {
        name: path,
        get open() {
          return database.isOpen;
        },
        prepare: (sql) => wrap(database.prepare(sql), false),
        exec: (sql) => database.exec(sql),
        pragma(text) {
          const statement = database.prepare(`PRAGMA ${text}`);
          statement.setReturnArrays(true);
          return (statement.all()[0] as unknown[] | undefined)?.[0];
        },
        transaction: (work) => () => {
          // Nested calls join the outer transaction, as better-sqlite3's do at the outermost level.
          if (database.isTransaction) return work();
          database.exec('BEGIN');
          try {
            const result = work();
            database.exec('COMMIT');
            return result;
          } catch (error) {
            if (database.isTransaction) database.exec('ROLLBACK');
            throw error;
          }
        },
        close: () => database.close(),
      };
    },
  };
}

/** Node 22 warns that node:sqlite is experimental when it is first loaded; the user has nothing to act on. */
function withoutExperimentalWarning<T>(load: () => T): T {
  const emit = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === 'string' ? warning : warning.message;
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
    if (type === 'ExperimentalWarning' && /SQLite/i.test(text)) return;
    (emit as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return load();
  } finally {
    process.emitWarning = emit;
  }
}

/**
 * Rows of a node:sqlite iterator, mapped; once returned (or run out) it stays done, as a
 * better-sqlite3 iterator does, even after its database closed and finalized the statement.
 */
function stoppableIterator<R>(source: IterableIterator<unknown>, map: (row: unknown) => R): IterableIterator<R> {
  let finished = false;
  const iterator: IterableIterator<R> = {
    next() {
      if (finished) return { done: true, value: undefined };
      const next = source.next();
      if (next.done) {
        finished = true;
        return { done: true, value: undefined };
      }
      return { done: false, value: map(next.value) };
    },
    return(value?: unknown) {
      if (!finished) {
        finished = true;
        source.return?.();
      }
      return { done: true, value: value as R };
    },
    [Symbol.iterator]: () => iterator,
  };
  return iterator;
}

/** better-sqlite3's `fileMustExist`: node:sqlite would create the file. */
function assertExists(path: string): void {
  if (!existsSync(path)) throw Object.assign(new Error(`unable to open database file: ${path} does not exist`), { code: 'ERR_SQLITE_ERROR' });
}
