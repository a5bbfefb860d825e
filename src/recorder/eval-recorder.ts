/**
 * A crash-safe recorder for TypeScript eval harnesses, doing what Inspect's own recorder does:
 * finished samples go into the `.eval` log (EvalLogWriter), which is flushed every `logBuffer`
 * completions; everything not yet flushed (running samples, their events, completed samples waiting
 * for the next flush) lives in the sample-buffer database (SampleBufferDatabase). After a SIGKILL,
 * every sample is in one of the two, and `inspect log recover` (or this library) rebuilds the run.
 *
 *   const recorder = await EvalRecorder.start('logs/run.eval', logStart);   // or resume(log, logStart)
 *   for (const { id, epoch } of recorder.remaining()) {
 *     recorder.sampleStarted({ id, epoch, input, target });
 *     recorder.events(id, epoch, [event, ...]);      // as the sample runs; updates reuse the uuid
 *     await recorder.sampleCompleted(evalSample);    // a sample run again replaces its row
 *   }
 *   await recorder.finish();                         // results from the final rows; or abandon()
 */
import { attemptErrors, withEarlierAttempts } from '../eval/attempt-errors.js';
import { EvalLogWriter } from '../eval/eval-log-writer.js';
import { completeLogStart, inspectLogFileName } from '../eval/log-start.js';
import { summarizeSample } from '../eval/sample-summary.js';
import type { EvalError, EvalLogHeader, EvalSample, EvalSampleReductions, EvalSampleSummary, LogStart } from '../eval/schemas.js';
import type { BufferEvent, TaskMetric } from '../buffer/schemas.js';
import { SampleBufferDatabase, type BufferSyncHook } from '../buffer/database/writer.js';
import { ResumeRefusedError } from '../errors.js';
import { logKey, type SampleId, type SampleRef } from '../sample-ref.js';
import { FilestoreSyncHook } from '../buffer/filestore/sync-hook.js';
import { shortUuid } from '../buffer/short-uuid.js';
import { storageFor } from '../storage/storage-for.js';
import { warningSink, type WarningOptions } from '../warnings.js';
import { finishedRun } from './finished-run.js';
import { copySampleRows, newestLogOfRun, openForResume, readFinishedRun, type SampleRow } from './resumed-log.js';

export interface EvalRecorderOptions {
  /** Inspect's data dir, where the buffer database goes; default `inspectDataDir()`. */
  dataDir?: string;
  /** Flush the `.eval` every this many completed samples; default as Inspect (`defaultLogBuffer`). */
  logBuffer?: number;
  /** The filestore sync (sample-buffer.md Part B), told of every buffer write and of the end of the run. */
  sync?: BufferSyncHook;
  /**
   * Mirror the buffer into `.buffer/<log name>/` beside the log (Inspect's `--log-shared`),
   * syncing at most every `intervalSeconds`; ignored when `sync` is given.
   */
  shared?: { intervalSeconds: number };
}

export interface ResumeOptions extends EvalRecorderOptions, WarningOptions {
  /**
   * Whether samples whose last attempt errored (cancelled by the crash included) are to be run
   * again: in `remaining()`, not `completed()`. Default true; false keeps their rows as final.
   */
  retryErrors?: boolean;
}

export interface StartOrResumeOptions extends ResumeOptions {
  /** Begin a new log even when the newest log of this run finished successfully. */
  fresh?: boolean;
}

/** Where a recording goes: its log and its buffer database. */
interface Recording {
  log: EvalLogWriter;
  buffer: SampleBufferDatabase;
}

/** What is known when a sample begins (the dataset sample, as in Inspect's `sample_init` event). */
export interface SampleInit {
  /** As `remaining()` gives it: an int (any size, so a bigint too) or a string. */
  id: SampleId;
  epoch: number;
  input: string | unknown[];
  target: string | string[];
  choices?: string[];
  metadata?: Record<string, unknown>;
  /** Default: a fresh 22-character shortuuid. */
  uuid?: string;
}

export class EvalRecorder {
  /** Added to the log since its last flush; removed from the buffer once flushed. */
  private unflushed: SampleRef[] = [];
  /** Each running sample's events as recorded (the last of each uuid), for its completed sample when the harness passes none. */
  private readonly transcripts = new Map<string, Map<string, BufferEvent>>();
  /** Log writes one at a time: a flush must not interleave with adding a sample. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    /** Undefined for a run that finished successfully before this recorder (startOrResume): nothing is left to record. */
    private readonly recording: Recording | undefined,
    private readonly logBuffer: number,
    /** The run's start, as in its log. */
    readonly logStart: LogStart,
    /** The latest row of each sample in the log, by `logKey`. */
    private readonly rows: Map<string, SampleRow>,
    private readonly retryErrors: boolean,
    /** The log this recorder writes (or, for a run finished earlier, found). */
    readonly logLocation: string,
  ) {}

  /**
   * Creates the log (the start journal, flushed at once, as Inspect does) and its buffer database.
   * A start Inspect could not read logs from is refused with a LogStartError naming the field
   * (`eval.dataset.sample_ids` included); `eval_id` and `run_id` are made when absent.
   */
  static async start(logLocation: string, given: LogStart, options: EvalRecorderOptions = {}): Promise<EvalRecorder> {
    const logStart = completeLogStart(given);
    return EvalRecorder.recording(logLocation, logStart, new Map(), options, true, () => EvalLogWriter.create(logLocation, logStart));
  }

  /**
   * Continues the run of a log that did not finish: a crashed log is recovered in place from its
   * buffer first (as `--overwrite`, with recovery's checks), a recovered or errored one is taken
   * as it is. The same `eval_id` and `run_id` go on; its samples stay, and `remaining()` says
   * which are still to run. Refused with a ResumeMismatchError naming each difference when
   * `given` has another task, other task arguments, other sample ids or other epochs; with a
   * ResumeRefusedError when the log finished successfully or is still running.
   */
  static async resume(logLocation: string, given: LogStart, options: ResumeOptions = {}): Promise<EvalRecorder> {
    completeLogStart(given);
    const storage = storageFor(logLocation);
    const warn = warningSink(options, { log: logLocation });
    const { start, reader } = await openForResume(logLocation, given, { storage, dataDir: options.dataDir, warn });
    const rows = new Map<string, SampleRow>();
    try {
      return await EvalRecorder.recording(logLocation, start, rows, options, options.retryErrors ?? true, () =>
        EvalLogWriter.create(logLocation, start, { storage, seed: (writer) => copySampleRows(reader, writer, rows, warn) }),
      );
    } finally {
      await reader.close();
    }
  }

  /**
   * A harness resumes by being run again: takes the newest log in `logDir` of this run (same
   * task, task arguments, epochs and sample ids). One that did not finish successfully is
   * resumed; one that did is returned as it is, with nothing `remaining()` and a `finish()` that
   * changes nothing (`fresh: true` starts a new log instead). With none, a new log is started
   * there, named as Inspect names logs. Whatever the kills before, a run again always goes on.
   */
  static async startOrResume(logDir: string, given: LogStart, options: StartOrResumeOptions = {}): Promise<EvalRecorder> {
    const directory = logDir.replace(/[/\\]+$/, '');
    const storage = storageFor(directory);
    const logStart = completeLogStart(given);
    const newest = await newestLogOfRun(storage, directory, logStart);
    if (newest && !newest.successful) return EvalRecorder.resume(newest.location, given, options);
    if (newest && !options.fresh) {
      const { start, rows } = await readFinishedRun(storage, newest.location);
      return new EvalRecorder(undefined, 0, start, rows, false, newest.location);
    }
    return EvalRecorder.start(storage.join(directory, inspectLogFileName(logStart)), logStart, options);
  }

  /**
   * The buffer database first, then the log: from the moment the log (re)appears, a crash leaves
   * a buffer whose dead writer says it crashed, never a fresh log without one, which looks like a
   * run still going elsewhere.
   */
  private static async recording(
    logLocation: string,
    logStart: LogStart,
    rows: Map<string, SampleRow>,
    options: EvalRecorderOptions,
    retryErrors: boolean,
    createLog: () => Promise<EvalLogWriter>,
  ): Promise<EvalRecorder> {
    const sync = options.sync ?? (options.shared ? new FilestoreSyncHook(options.shared) : undefined);
    const buffer = SampleBufferDatabase.create(logLocation, { dataDir: options.dataDir, sync });
    try {
      const log = await createLog();
      return new EvalRecorder({ log, buffer }, options.logBuffer ?? defaultLogBuffer(logStart), logStart, rows, retryErrors, logLocation);
    } catch (error) {
      await buffer.close({ cleanup: true });
      throw error;
    }
  }

  /** Whether the log holds a final row of this sample: one that succeeded (or errored, with `retryErrors: false`). */
  completed(id: SampleId, epoch: number): boolean {
    const row = this.rows.get(logKey(id, epoch));
    return row !== undefined && (row.errors === undefined || !this.retryErrors);
  }

  /** Whether the run had finished successfully before this recorder: nothing remains, and nothing can be recorded. */
  get finishedEarlier(): boolean {
    return this.recording === undefined;
  }

  /** The errors of the sample's attempts so far, oldest first (empty when none failed, or its last attempt succeeded). */
  failedAttempts(id: SampleId, epoch: number): readonly EvalError[] {
    return this.rows.get(logKey(id, epoch))?.errors ?? [];
  }

  /** The dataset's samples × epochs not yet completed, in dataset order then epoch: what is left to run. */
  remaining(): SampleRef[] {
    if (this.finishedEarlier) return [];
    const epochs = this.logStart.eval.config.epochs ?? 1;
    const left: SampleRef[] = [];
    for (const id of this.logStart.eval.dataset.sample_ids ?? []) {
      for (let epoch = 1; epoch <= epochs; epoch++) if (!this.completed(id, epoch)) left.push({ id, epoch });
    }
    return left;
  }

  /** The buffer database file (with `-wal` and `-shm` next to it); a run finished earlier has none (refused). */
  get bufferDatabasePath(): string {
    return this.recorded().buffer.path;
  }

  /** Records the start of a sample; returns the summary stored for it (with its uuid). */
  sampleStarted(init: SampleInit): EvalSampleSummary {
    // Keys in Inspect's declaration order; no started_at/completed_at until the sample completes.
    const summary: EvalSampleSummary = {
      id: init.id,
      epoch: init.epoch,
      input: init.input,
      ...(init.choices ? { choices: init.choices } : {}),
      target: init.target,
      metadata: init.metadata ?? {},
      model_usage: {},
      role_usage: {},
      uuid: init.uuid ?? shortUuid(),
      completed: false,
    };
    this.recorded().buffer.startSample(summary);
    this.transcripts.set(logKey(init.id, init.epoch), new Map());
    return summary;
  }

  /** Transcript events of a running sample; log an updated event again with the same `uuid`. */
  events(id: SampleId, epoch: number, events: readonly BufferEvent[]): void {
    this.recorded().buffer.logEvents(id, epoch, events);
    const transcript = this.transcripts.get(logKey(id, epoch));
    for (const event of events) transcript?.set(event.uuid ?? `#${transcript.size}`, event);
  }

  /** The running metrics display (`task_database.metrics`), as Inspect's viewer shows it. */
  updateMetrics(metrics: readonly TaskMetric[]): void {
    this.recorded().buffer.updateMetrics(metrics);
  }

  /**
   * A sample finished: its final summary and full metadata go to the buffer first, then the sample
   * joins the log, which is flushed when `logBuffer` samples are waiting (at once when it failed). A sample the log holds
   * already (run again) replaces its row there, by (id, epoch); the errors of its earlier
   * attempts go before its own `error_retries`, as Inspect keeps a retried sample's, and the
   * summary's `retries` counts them.
   */
  async sampleCompleted(completed: EvalSample): Promise<void> {
    const { log, buffer } = this.recorded();
    const key = logKey(completed.id, completed.epoch);
    const row = this.rows.get(key);
    const sample = withEarlierAttempts(withRecordedEvents(completed, this.transcripts.get(key)), row?.errors ?? []);
    this.transcripts.delete(key);
    const summary = summarizeSample(sample);
    buffer.completeSample(sample.id, sample.epoch, summary, { metadata: sample.metadata ?? {} });
    // The attempt counts from now (a next attempt's error_retries start from it); its entry once written.
    const errors = attemptErrors(sample);
    this.rows.set(key, { entry: row?.entry, ...(errors.length ? { errors } : {}) });
    await this.enqueue(async () => {
      const earlier = this.rows.get(key)?.entry;
      if (earlier) log.dropSample(earlier);
      const entry = await log.addSample(sample, summary);
      this.rows.set(key, { ...this.rows.get(key), entry });
      this.unflushed.push({ id: sample.id, epoch: sample.epoch });
      // A failed attempt is flushed at once: a retry of it takes over its buffer row as it starts,
      // so until then the log is the only place its error would survive a crash.
      if (this.unflushed.length >= this.logBuffer || sample.error) await this.flushLog();
    });
  }

  /** Publishes every completed sample into the log now, then drops them from the buffer. */
  flush(): Promise<void> {
    return this.enqueue(() => this.flushLog());
  }

  /**
   * The final log write (summaries, reductions, header), then the buffer is deleted: the run is
   * over. Without a header, status `success` with results, reductions and stats computed over
   * the log's final rows (one per sample), which is what a resumed run needs: the samples of its
   * earlier processes count too.
   */
  async finish(header?: EvalLogHeader, reductions?: EvalSampleReductions): Promise<void> {
    if (!this.recording) return;
    const { log, buffer } = this.recording;
    await this.enqueue(async () => {
      if (header) return log.finish({ header, reductions });
      const computed = await finishedRun(this.logStart, log.latestSummaries());
      try {
        await log.finish({ header: computed.header, ...(computed.reductions ? { reductions: computed.reductions } : {}) });
      } finally {
        await computed.close();
      }
    });
    await buffer.close({ cleanup: true });
  }

  /**
   * Stops without finishing, like a crash but tidily: the log stays as of its last flush and the
   * buffer database stays for recovery (once this process has exited, since its pid is in the name).
   */
  async abandon(): Promise<void> {
    if (!this.recording) return;
    const { log, buffer } = this.recording;
    await this.enqueue(() => log.close());
    await buffer.close({ cleanup: false });
  }

  // A crash between the flush and the delete leaves a sample in both places; recovery prefers the log.
  private async flushLog(): Promise<void> {
    if (!this.recording) return;
    await this.recording.log.flush();
    this.recording.buffer.removeSamples(this.unflushed);
    this.unflushed = [];
  }

  /** Where this run records; refused for a run that finished before this recorder. */
  private recorded(): Recording {
    if (this.recording) return this.recording;
    throw new ResumeRefusedError(`${this.logLocation} finished successfully: nothing is left to record (startOrResume with fresh: true starts a new log)`);
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

/**
 * Inspect's `log_buffer` when the eval does not set one (eval-log-format.md §7), for n = samples × epochs:
 * `max(1, min(n / 3, 10))` below 1000 samples, `max(10, n / 20)` from 1000 (about 20 flushes a run).
 */
export function defaultLogBuffer(logStart: LogStart): number {
  const configured = logStart.eval.config.log_buffer;
  if (configured !== undefined && configured !== null && configured > 0) return configured;
  const total = (logStart.eval.dataset.samples ?? 0) * (logStart.eval.config.epochs ?? 1);
  return total < 1000 ? Math.max(1, Math.min(Math.floor(total / 3), 10)) : Math.max(10, Math.floor(total / 20));
}

/** The events recorded with `events()`, in the order first seen, when the harness's sample has none of its own. */
function withRecordedEvents(sample: EvalSample, transcript: ReadonlyMap<string, BufferEvent> | undefined): EvalSample {
  if ((sample.events?.length ?? 0) > 0 || !transcript?.size) return sample;
  return { ...sample, events: [...transcript.values()] };
}
