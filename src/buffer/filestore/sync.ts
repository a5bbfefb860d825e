/**
 * Inspect's filestore sync (sample-buffer.md Part B): mirrors a live sample-buffer DB into
 * `<log dir>/.buffer/<log name>/` on local disk or S3, so that viewers elsewhere can follow the run
 * and a crash of this machine loses at most one sync interval.
 *
 * Each sync writes in an order that keeps the filestore readable whenever the writer dies: metadata
 * side files, then the new `segment.<N>.zip` (built in a local temp file, then stored whole), then
 * `manifest.json`, which is the only file that makes them visible, then the heartbeat. Between
 * syncs the heartbeat is rewritten on a timer, written to or not, for as long as the run lives.
 * Every write replaces its file atomically, and a segment id is never written twice.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { processTempDir } from '../../bytes/exit-cleanup.js';
import { join } from 'node:path';
import { FilestoreRemovedError } from '../../errors.js';
import type { Storage, WriteOptions } from '../../storage/storage.js';
import { ZipWriter } from '../../zip/zip-writer.js';
import type { BufferDatabaseSnapshot } from '../database/open-snapshot.js';
import { formatIndentedJson } from '../pretty-json.js';
import { heartbeat, heartbeatFileName } from './heartbeat.js';
import { manifestFileName, segmentFileName } from './layout.js';
import { manifestSchema, type Manifest } from './manifest.js';
import { emptyManifest, planSync, type SegmentMemberJson } from './sync-plan.js';
import { SyncScheduler } from './sync-scheduler.js';
import { SyncSource } from './sync-source.js';

export interface FilestoreSyncOptions {
  /** The live buffer DB (see live-database.ts); it stays the caller's to close. */
  database: BufferDatabaseSnapshot;
  storage: Storage;
  /** `.buffer/<log name>` (see `filestoreDirForLog`). */
  bufferDir: string;
  /** Inspect's `log_shared`: scheduled syncs start at least this far apart. */
  intervalSeconds: number;
  /** A scheduled sync failed (later ones still run); `sync()` and `stop()` reject instead. */
  onError?: (error: Error) => void;
}

export interface SyncResult {
  /** The segment this sync wrote; undefined when no sample had new rows. */
  segmentId: number | undefined;
  /** Samples in the manifest written. */
  samples: number;
  /** Samples with a member in the new segment. */
  members: number;
  metadataFiles: number;
}

/** Spec B.7: a bucket lifecycle rule can expire these. */
const ephemeralTags = { 'inspect-ephemeral': 'true' };
const keepFileName = '.keep';
const segmentName = /^segment\.(\d+)\.zip$/;

export class FilestoreSync {
  readonly bufferDir: string;
  readonly intervalSeconds: number;
  private readonly storage: Storage;
  private readonly source: SyncSource;
  private readonly scheduler: SyncScheduler<SyncResult>;
  private readonly writeOptions: WriteOptions;
  private readonly onError: ((error: Error) => void) | undefined;
  /** The highest segment id that may exist in storage; undefined before the first sync looked. */
  private highestSegmentId: number | undefined;
  private removed = false;
  /**
   * The manifest this writer last stored. A sync continues from it, never from a manifest found
   * in storage: that one may be another writer's (a crashed run this one resumes), whose row ids
   * are not this database's and whose segments hold another attempt's events.
   */
  private lastManifest: Manifest = emptyManifest;
  /** Beats between syncs, so an idle run (a slow model call, a backoff) still shows it is alive. */
  private readonly beat: NodeJS.Timeout;
  private beating: Promise<void> = Promise.resolve();
  private lastBeatMs = 0;
  private failure: Error | undefined;
  private failures = 0;

  constructor(options: FilestoreSyncOptions) {
    if (!(options.intervalSeconds > 0)) throw new RangeError(`intervalSeconds must be positive, got ${options.intervalSeconds}`);
    this.storage = options.storage;
    this.bufferDir = options.bufferDir;
    this.intervalSeconds = options.intervalSeconds;
    this.source = new SyncSource(options.database);
    this.writeOptions = options.storage.kind === 's3' ? { tags: ephemeralTags } : {};
    this.onError = options.onError;
    this.scheduler = new SyncScheduler(() => this.syncOnce(), {
      intervalMs: options.intervalSeconds * 1000,
      onError: (error) => this.onError?.(this.recordFailure(error)),
    });
    this.beat = setInterval(() => {
      this.beating = this.beatIfIdle();
    }, options.intervalSeconds * 1000);
    // A forgotten stop() must not keep the process alive.
    this.beat.unref();
  }

  /** The error of the latest failed sync (scheduled or not), until a sync succeeds. */
  get lastError(): Error | undefined {
    return this.failure;
  }

  /** How many syncs have failed so far. */
  get failedSyncs(): number {
    return this.failures;
  }

  /** Syncs now, after a sync under way; rejects when it fails. */
  sync(): Promise<SyncResult> {
    return this.scheduler.run().catch((error: unknown) => {
      throw this.recordFailure(error);
    });
  }

  /** Schedules a sync (throttled and coalesced); call after each DB write. */
  requestSync(): void {
    this.scheduler.request();
  }

  /** Ends scheduling and syncs one last time: the filestore then holds everything the DB holds. */
  async stop(): Promise<SyncResult> {
    await this.stopBeating();
    await this.scheduler.stop();
    return this.sync();
  }

  /** The normal end of a run: ends scheduling and deletes `.buffer/<log name>/`, as Inspect does. */
  async remove(): Promise<void> {
    // Set first: a sync queued behind the one under way must not recreate what is deleted.
    this.removed = true;
    await this.stopBeating();
    await this.scheduler.stop();
    await this.storage.deleteTree(this.bufferDir);
  }

  private async syncOnce(): Promise<SyncResult> {
    if (this.removed) throw new FilestoreRemovedError(`${this.bufferDir}: the filestore was removed; it is not synced again`);
    if (this.highestSegmentId === undefined) this.highestSegmentId = await this.create();
    const previous = this.lastManifest;
    const segmentId = Math.max(previous.segments.at(-1)?.id ?? 0, this.highestSegmentId) + 1;
    const plan = this.source.consistently(() => planSync(previous, this.source, segmentId));

    for (const file of plan.metadataFiles) await this.write(file.name, file.text);
    if (plan.segment) {
      // Taken before the write: a failed write may still have left the object behind.
      this.highestSegmentId = plan.segment.id;
      await this.writeSegment(plan.segment.id, plan.segment.members);
    }
    await this.write(manifestFileName, formatIndentedJson(plan.manifest));
    this.lastManifest = manifestSchema.parse(plan.manifest);
    await this.writeHeartbeat();

    this.failure = undefined;
    return {
      segmentId: plan.segment?.id,
      samples: plan.manifest.samples.length,
      members: plan.segment?.members.length ?? 0,
      metadataFiles: plan.metadataFiles.length,
    };
  }

  private async beatIfIdle(): Promise<void> {
    // Only once the filestore exists (the first sync made it), and only if no sync beat lately.
    if (this.removed || this.highestSegmentId === undefined || Date.now() - this.lastBeatMs < this.intervalSeconds * 500) return;
    try {
      await this.writeHeartbeat();
    } catch (error) {
      this.onError?.(this.recordFailure(error));
    }
  }

  private async stopBeating(): Promise<void> {
    clearInterval(this.beat);
    await this.beating;
  }

  private async writeHeartbeat(): Promise<void> {
    await this.write(heartbeatFileName, formatIndentedJson(heartbeat(this.intervalSeconds)));
    this.lastBeatMs = Date.now();
  }

  /**
   * Writes `.keep` (so the directory exists on S3 too) and returns the highest segment id already
   * there: segments of an earlier writer that no manifest names are never overwritten either.
   */
  private async create(): Promise<number> {
    await this.write(keepFileName, new Uint8Array());
    const ids = (await this.storage.list(this.bufferDir)).map((name) => segmentName.exec(name)?.[1]).filter((id) => id !== undefined);
    return Math.max(0, ...ids.map(Number));
  }

  /** Built whole in a local temp file (fsynced by `close`), then stored as one object. */
  private async writeSegment(id: number, members: readonly SegmentMemberJson[]): Promise<void> {
    const tempDir = await mkdtemp(join(processTempDir(), 'segment-'));
    try {
      const path = join(tempDir, segmentFileName(id));
      const zip = await ZipWriter.create(path);
      try {
        for (const member of members) await zip.add(member.name, formatIndentedJson(member.data));
      } catch (error) {
        await zip.abandon();
        throw error;
      }
      await zip.close();
      await this.storage.writeFromFile(this.storage.join(this.bufferDir, segmentFileName(id)), path, this.writeOptions);
    } finally {
      await rm(tempDir, { recursive: true, force: true });
    }
  }

  private write(name: string, data: Uint8Array | string): Promise<void> {
    return this.storage.write(this.storage.join(this.bufferDir, name), data, this.writeOptions);
  }

  private recordFailure(error: unknown): Error {
    const failure = error instanceof Error ? error : new Error(String(error));
    this.failure = failure;
    this.failures++;
    return failure;
  }
}
