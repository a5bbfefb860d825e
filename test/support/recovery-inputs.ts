/**
 * Inputs for the recovery tests, built with the project's own writers: a crashed `.eval`
 * (EvalLogWriter closed without finishing) and its buffer database (SampleBufferDatabase under a
 * dead pid, in a private data dir). Plus readers for what recovery wrote, and a Storage wrapper
 * for injecting failures.
 */
import { mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { BufferEvent } from '../../src/buffer/schemas.js';
import { SampleBufferDatabase } from '../../src/buffer/database/writer.js';
import { EvalLogReader } from '../../src/eval/eval-log-reader.js';
import { EvalLogWriter } from '../../src/eval/eval-log-writer.js';
import { EntryName } from '../../src/eval/entry-names.js';
import { summarizeSample } from '../../src/eval/sample-summary.js';
import type { EvalLogHeader, EvalSample, EvalSampleReductions, EvalSampleSummary, LogStart } from '../../src/eval/schemas.js';
import { LocalStorage } from '../../src/storage/local-storage.js';
import type { Storage } from '../../src/storage/storage.js';
import { deadPid } from '../buffer/database/buffer-database-helpers.js';

// --- scratch directories ---------------------------------------------------------------------------

export interface Scratch {
  /** realpath'd: the buffer DB directory is named after the log dir as spelled. */
  root: string;
  logsDir: string;
  /** Inspect's data dir for this test only (never the real one). */
  dataDir: string;
  /** `<logsDir>/<name>`. */
  log(name?: string): string;
}

/** A fresh `<tmp>/<prefix>XXXX/{logs,data/inspect_ai}`, removed after the test. */
export async function makeScratch(t: TestContext | undefined, prefix = 'recover-'): Promise<Scratch> {
  const root = await realpath(await mkdtemp(join(tmpdir(), prefix)));
  t?.after(() => rm(root, { recursive: true, force: true }));
  const logsDir = join(root, 'logs');
  const dataDir = join(root, 'data', 'inspect_ai');
  await mkdir(logsDir, { recursive: true });
  await mkdir(dataDir, { recursive: true });
  return { root, logsDir, dataDir, log: (name = 'run.eval') => join(logsDir, name) };
}

// --- pids --------------------------------------------------------------------------------------------

let nextPid = 3_900_000;

/** A different pid with no process behind it at every call (for buffer DB file names). */
export function freshDeadPid(): number {
  const pid = deadPid(nextPid);
  nextPid = pid + 1;
  return pid;
}

// --- the crashed log ----------------------------------------------------------------------------------

/** A crashed log: the start journal, then one flush per batch, then a stop without `header.json`. */
export async function writeCrashedLog(location: string, start: LogStart, batches: EvalSample[][] = []): Promise<void> {
  const writer = await EvalLogWriter.create(location, start);
  try {
    for (const batch of batches) {
      for (const sample of batch) await writer.addSample(sample);
      await writer.flush();
    }
  } finally {
    await writer.close();
  }
}

/** A finished log (what a successful run leaves). */
export async function writeFinishedLog(location: string, start: LogStart, samples: EvalSample[], header: EvalLogHeader): Promise<void> {
  const writer = await EvalLogWriter.create(location, start);
  for (const sample of samples) await writer.addSample(sample);
  await writer.finish({ header });
}

// --- the buffer database -------------------------------------------------------------------------------

/** A buffer DB for `log` named with a dead pid (or the given one): what a crashed eval leaves. */
export function openBufferDatabase(log: string, dataDir: string, pid: number = freshDeadPid()): SampleBufferDatabase {
  return SampleBufferDatabase.create(log, { dataDir, pid });
}

export type BufferedState = 'completed' | 'in-progress' | 'errored';

export const errorMessage = 'RateLimitError: rate limit exceeded';

/** The sample as it ends with an error: no scores, an error object. */
export function erroredSample(sample: EvalSample): EvalSample {
  const { scores: _scores, ...rest } = sample;
  return { ...rest, error: { message: errorMessage, traceback: `Traceback...\n${errorMessage}\n`, traceback_ansi: `${errorMessage}\n` } };
}

/**
 * The events a harness logs while a sample runs: `sample_init`, a model call (pending, then its
 * final form under the same uuid), and a score when it completed.
 */
export function runningEvents(sample: EvalSample, state: BufferedState): BufferEvent[] {
  const [init, score] = sample.events as BufferEvent[];
  const model = (pending: boolean): BufferEvent => ({
    uuid: `model-${String(sample.id)}-${sample.epoch}`,
    event: 'model',
    ...(pending ? { pending: true } : {}),
    model: 'mockllm/model',
    role: null,
    input: sample.input as unknown[],
    tools: [],
    tool_choice: 'none',
    config: {},
    output: pending ? { model: 'mockllm/model', choices: [], completion: '' } : sample.output,
  });
  const events: BufferEvent[] = [{ ...init!, uuid: `init-${String(sample.id)}-${sample.epoch}` }, model(true), model(false)];
  if (state === 'completed') events.push({ ...score!, uuid: `score-${String(sample.id)}-${sample.epoch}` });
  return events;
}

export interface BufferSampleOptions {
  /** null: the start summary has no uuid. Default: the sample's. */
  uuid?: string | null;
  events?: BufferEvent[];
  /** The full metadata stored at completion (default: the sample's). */
  metadata?: Record<string, unknown>;
  /** Overrides of the completion summary (e.g. thinned metadata). */
  summary?: Partial<EvalSampleSummary>;
}

/** Logs one sample into the buffer as a harness would: start, events, and completion unless in progress. */
export function bufferSample(db: SampleBufferDatabase, sample: EvalSample, state: BufferedState, options: BufferSampleOptions = {}): void {
  const uuid = options.uuid === undefined ? sample.uuid : options.uuid;
  db.startSample({
    id: sample.id,
    epoch: sample.epoch,
    input: sample.input,
    target: sample.target,
    metadata: sample.metadata ?? {},
    model_usage: {},
    role_usage: {},
    ...(uuid ? { uuid } : {}),
    completed: false,
  });
  db.logEvents(sample.id, sample.epoch, options.events ?? runningEvents(sample, state));
  if (state === 'in-progress') return;
  const finished = state === 'errored' ? erroredSample(sample) : sample;
  db.completeSample(sample.id, sample.epoch, { ...summarizeSample(finished), ...options.summary }, { metadata: options.metadata ?? finished.metadata ?? {} });
}

// --- reading what recovery wrote -------------------------------------------------------------------------

export interface ReadLog {
  finished: boolean;
  header: EvalLogHeader;
  entryNames: string[];
  summaries: EvalSampleSummary[];
  /** By `<id>:<epoch>`. */
  samples: Map<string, EvalSample>;
  reductions: EvalSampleReductions | undefined;
}

export const key = (id: unknown, epoch: number) => `${String(id)}:${epoch}`;

export async function readLog(location: string, storage: Storage = new LocalStorage()): Promise<ReadLog> {
  const reader = await EvalLogReader.open(storage.byteSource(location));
  try {
    const samples = new Map<string, EvalSample>();
    for await (const sample of reader.samples()) {
      const id = key(sample.id, sample.epoch);
      if (samples.has(id)) throw new Error(`${location}: sample ${id} twice`);
      samples.set(id, sample);
    }
    return {
      finished: reader.finished,
      header: await reader.header(),
      entryNames: reader.zip.entries.map((entry) => entry.name),
      summaries: await reader.summaries(),
      samples,
      reductions: await reader.reductions(),
    };
  } finally {
    await reader.close();
  }
}

/** The compressed bytes of an entry exactly as stored, with its method and CRC. */
export async function rawEntry(location: string, name: string): Promise<{ method: number; crc32: number; bytes: Buffer }> {
  const reader = await EvalLogReader.open(location);
  try {
    const entry = reader.zip.entry(name);
    if (!entry) throw new Error(`${location}: no entry ${name}`);
    const chunks: Uint8Array[] = [];
    for await (const chunk of reader.zip.rawChunks(entry)) chunks.push(chunk);
    return { method: entry.method, crc32: entry.crc32, bytes: Buffer.concat(chunks) };
  } finally {
    await reader.close();
  }
}

export const headerEntry = EntryName.header;

/**
 * What Inspect's reader does with a condensed sample: `input_refs` and `call_refs` resolved from
 * `events_data`, the refs cleared (eval-log-format.md §6).
 */
export function resolveEventsData(sample: Record<string, unknown>): Record<string, unknown>[] {
  const data = sample.events_data as { messages?: unknown[]; calls?: unknown[] } | null | undefined;
  const expand = (pool: unknown[] | undefined, refs: unknown) =>
    Array.isArray(refs) ? (refs as [number, number][]).flatMap(([start, end]) => (pool ?? []).slice(start, end)) : undefined;
  return ((sample.events as Record<string, unknown>[] | undefined) ?? []).map((event) => {
    if (event.event !== 'model') return event;
    const resolved: Record<string, unknown> = { ...event };
    const input = expand(data?.messages, event.input_refs);
    if (input) {
      resolved.input = input;
      resolved.input_refs = null;
    }
    const call = event.call as Record<string, unknown> | undefined;
    const items = call && expand(data?.calls, call.call_refs);
    if (call && items && typeof call.call_key === 'string') {
      resolved.call = { ...call, request: { ...(call.request as object), [call.call_key]: items }, call_refs: null, call_key: null };
    }
    return resolved;
  });
}

// --- fault injection ---------------------------------------------------------------------------------------

/** Local storage with chosen methods replaced (e.g. a `copy` that fails). */
export function faultyStorage(overrides: Partial<Pick<Storage, 'copy' | 'delete' | 'writeFromFile' | 'write' | 'deleteTree'>>): Storage {
  const local = new LocalStorage();
  return new Proxy(local, {
    get(target, property, receiver) {
      const override = (overrides as Record<PropertyKey, unknown>)[property];
      if (override !== undefined) return override;
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
