import { LineSpool } from '../bytes/line-spool.js';
import { parsePythonJson, stringifyPythonJson } from '../json/python-json.js';
import { logKey } from '../sample-ref.js';
import { LastOccurrence } from './last-occurrence.js';
import type { EvalSampleSummary } from './schemas.js';

/**
 * Every sample summary of a log, one JSON line each in a temporary file, so that memory does not
 * grow with the number of samples; `summaries.json` is streamed from it. A sample summarized
 * again (a retried sample) keeps only its latest line, as Inspect keeps the last row per
 * (id, epoch).
 */
export class SummarySpool {
  /** One key per line, in line order. */
  private readonly keys = new LastOccurrence();

  private constructor(private readonly file: LineSpool) {}

  static async create(): Promise<SummarySpool> {
    return new SummarySpool(await LineSpool.create('summaries.jsonl'));
  }

  /** Adds a summary; returns the JSON text it was written as. */
  append(summary: EvalSampleSummary): string {
    const text = stringifyPythonJson(summary);
    this.keys.add(keyOf(summary));
    this.file.append(text);
    return text;
  }

  /** The latest summary of each sample, parsed, in line order. */
  async *latest(): AsyncGenerator<EvalSampleSummary> {
    await this.settle();
    let line = 0;
    for await (const batch of this.file.lineBatches()) {
      for (const { bytes } of batch) {
        const text = Buffer.from(bytes).toString('utf8');
        if (this.keys.isLast(line++, () => keyOfLine(bytes, this.file.path))) yield parsePythonJson(text, this.file.path) as EvalSampleSummary;
      }
    }
  }

  /** The JSON array of the latest summary of each sample, in chunks. */
  async *json(): AsyncGenerator<Uint8Array> {
    await this.settle();
    const comma = Buffer.from(',');
    yield Buffer.from('[');
    let line = 0;
    let first = true;
    for await (const batch of this.file.lineBatches()) {
      const kept: Uint8Array[] = [];
      for (const { bytes } of batch) {
        if (!this.keys.isLast(line++, () => keyOfLine(bytes, this.file.path))) continue;
        if (!first) kept.push(comma);
        kept.push(bytes);
        first = false;
      }
      // Concatenated (so copied) now: the lines' bytes are only valid until the next batch.
      if (kept.length) yield Buffer.concat(kept);
    }
    yield Buffer.from(']');
  }

  /** Gives every line whose key was not kept in memory its key, read back from the file. */
  private async settle(): Promise<void> {
    const unsettled = this.keys.unsettled();
    if (!unsettled.size) return;
    let line = 0;
    for await (const batch of this.file.lineBatches()) {
      for (const { bytes } of batch) {
        if (unsettled.has(line)) this.keys.settle(line, keyOfLine(bytes, this.file.path));
        line++;
      }
    }
  }

  /** Removes the file. */
  close(): Promise<void> {
    return this.file.close();
  }
}

function keyOf(summary: Pick<EvalSampleSummary, 'id' | 'epoch'>): string {
  return logKey(summary.id, summary.epoch);
}

function keyOfLine(bytes: Uint8Array, path: string): string {
  return keyOf(parsePythonJson(Buffer.from(bytes).toString('utf8'), path) as EvalSampleSummary);
}
