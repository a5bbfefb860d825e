/**
 * On S3, where each read is a request, a small index of the finished logs under a prefix
 * (`<prefix>/.inspect-recover/header-index.jsonl`): for each, its ETag, size and what the scan
 * keeps of its header. A finished log whose listing still shows that ETag and size is not read
 * again, so a sweep over thousands of finished logs costs the listing and little more. Written
 * back when it changed, except on a dry run; a failed write (read-only credentials) costs only
 * speed. The dot directory keeps it out of every listing (ours and Inspect's).
 */
import { z } from 'zod';
import type { Storage } from '../storage/storage.js';
import type { FinishedHeader } from './success-guard.js';

export const headerIndexDirectory = '.inspect-recover';
const fileName = 'header-index.jsonl';
/** A few hundred bytes a log: even 100,000 logs fit well inside. */
const readLimit = 64 * 1024 * 1024;

const IndexLineSchema = z.looseObject({
  path: z.string(),
  etag: z.string(),
  size: z.number(),
  status: z.string(),
  task_id: z.string().optional(),
  eval_id: z.string().optional(),
  run_id: z.string().optional(),
  created: z.string().optional(),
  /** Written since the index kept run identities: a line without it is read again. */
  identified: z.literal(true).optional(),
});
type IndexLine = z.infer<typeof IndexLineSchema>;

export class HeaderIndex {
  private changed = false;

  private constructor(
    private readonly storage: Storage,
    private readonly location: string,
    private readonly entries: Map<string, IndexLine>,
  ) {}

  /** The index of `logDir` (empty when there is none or it does not read). */
  static async open(storage: Storage, logDir: string): Promise<HeaderIndex> {
    const location = storage.join(logDir, headerIndexDirectory, fileName);
    const entries = new Map<string, IndexLine>();
    const text = await storage
      .read(location, { maxBytes: readLimit })
      .then((bytes) => Buffer.from(bytes).toString('utf8'))
      .catch(() => '');
    for (const line of text.split('\n')) {
      const parsed = line.trim() === '' ? undefined : IndexLineSchema.safeParse(safeJson(line));
      if (parsed?.success) entries.set(parsed.data.path, parsed.data);
    }
    return new HeaderIndex(storage, location, entries);
  }

  /** What the index holds of a log, while its listing still shows the same version. */
  lookup(path: string, stat: { etag: string; size: number }): FinishedHeader | undefined {
    const entry = this.entries.get(path);
    // A line written before the index kept `created` is read again once.
    if (!entry?.identified || entry.created === undefined || entry.etag !== stat.etag || entry.size !== stat.size || stat.etag === '') return undefined;
    const { status, task_id: taskId, eval_id: evalId, run_id: runId, created } = entry;
    return { status, ...(taskId === undefined ? {} : { taskId }), ...(evalId === undefined ? {} : { evalId }), ...(runId === undefined ? {} : { runId }), ...(created ? { created } : {}) };
  }

  /** Records a finished log just read. */
  record(path: string, stat: { etag: string; size: number }, header: FinishedHeader): void {
    if (stat.etag === '') return;
    const { status, taskId, evalId, runId, created } = header;
    this.entries.set(path, {
      path,
      etag: stat.etag,
      size: stat.size,
      status,
      ...(taskId === undefined ? {} : { task_id: taskId }),
      ...(evalId === undefined ? {} : { eval_id: evalId }),
      ...(runId === undefined ? {} : { run_id: runId }),
      created: created ?? '',
      identified: true,
    });
    this.changed = true;
  }

  /** Drops the logs no longer listed. */
  keepOnly(paths: ReadonlySet<string>): void {
    for (const path of this.entries.keys()) {
      if (paths.has(path)) continue;
      this.entries.delete(path);
      this.changed = true;
    }
  }

  /** Writes the index back if it changed; a failure is ignored (it only costs the next scan its speed). */
  async save(): Promise<void> {
    if (!this.changed) return;
    const text = [...this.entries.values()].map((entry) => JSON.stringify(entry)).join('\n');
    await this.storage.write(this.location, text === '' ? '' : `${text}\n`).catch(() => undefined);
    this.changed = false;
  }
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}
