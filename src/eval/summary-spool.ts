import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { fileSystemError } from '../errors.js';
import { stringifyPythonJson } from '../json/python-json.js';
import { sampleKey } from './entry-names.js';
import type { EvalSampleSummary } from './schemas.js';

/**
 * Every sample summary of a log, one JSON line each in a file, so that memory does not grow with
 * the number of samples; `summaries.json` is streamed from it. A sample summarized again (a
 * retried sample) keeps only its latest line, as Inspect keeps the last row per (id, epoch).
 */
export class SummarySpool {
  private readonly latestLine = new Map<string, number>();
  /** Lines of samples summarized again later: left out of the output. */
  private readonly superseded = new Set<number>();
  private lines = 0;
  private pending: string[] = [];
  private pendingBytes = 0;

  private constructor(
    readonly path: string,
    private readonly file: FileHandle,
  ) {}

  static async create(path: string): Promise<SummarySpool> {
    const file = await open(path, 'w+').catch((error: unknown) => {
      throw fileSystemError(error, path, 'create');
    });
    return new SummarySpool(path, file);
  }

  get size(): number {
    return this.latestLine.size;
  }

  async append(summary: EvalSampleSummary): Promise<void> {
    const key = sampleKey(summary.id, summary.epoch);
    const previous = this.latestLine.get(key);
    if (previous !== undefined) this.superseded.add(previous);
    this.latestLine.set(key, this.lines++);
    const line = `${stringifyPythonJson(summary)}\n`;
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes > 1024 * 1024) await this.flush();
  }

  /** The JSON array of the latest summary of each sample, in chunks. */
  async *json(): AsyncGenerator<Uint8Array> {
    await this.flush();
    yield Buffer.from('[');
    let line = 0;
    let first = true;
    let partial = '';
    // Read in chunks (the stream's backpressure bounds memory) and cut lines by hand.
    for await (const chunk of createReadStream(this.path, { encoding: 'utf8', highWaterMark: 1024 * 1024 })) {
      const lines = (partial + (chunk as string)).split('\n');
      partial = lines.pop()!;
      const kept: string[] = [];
      for (const text of lines) {
        if (this.superseded.has(line++)) continue;
        kept.push(first ? text : `,${text}`);
        first = false;
      }
      if (kept.length) yield Buffer.from(kept.join(''));
    }
    yield Buffer.from(']');
  }

  async close(): Promise<void> {
    await this.file.close().catch(() => undefined);
  }

  private async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const chunk = this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    await this.file.appendFile(chunk).catch((error: unknown) => {
      throw fileSystemError(error, this.path, 'write');
    });
  }
}
