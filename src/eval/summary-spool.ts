import { LineSpool } from '../bytes/line-spool.js';
import { parsePythonJson, stringifyPythonJson } from '../json/python-json.js';
import { sampleKey } from './entry-names.js';
import { LastOccurrence } from './last-occurrence.js';
import type { EvalSampleSummary } from './schemas.js';

/** Output is handed on in pieces of about this many bytes. */
const chunkSize = 1024 * 1024;

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

  append(summary: EvalSampleSummary): void {
    this.keys.add(keyOf(summary));
    this.file.append(stringifyPythonJson(summary));
  }

  /** The JSON array of the latest summary of each sample, in chunks. */
  async *json(): AsyncGenerator<Uint8Array> {
    const unsettled = this.keys.unsettled();
    if (unsettled.size) {
      let line = 0;
      for await (const { bytes } of this.file.lines()) {
        if (unsettled.has(line)) this.keys.settle(line, keyOfLine(bytes, this.file.path));
        line++;
      }
    }
    let pieces: Uint8Array[] = [Buffer.from('[')];
    let size = 1;
    let line = 0;
    let first = true;
    for await (const { bytes } of this.file.lines()) {
      if (!this.keys.isLast(line++, () => keyOfLine(bytes, this.file.path))) continue;
      // Copied: the line's bytes are only valid until the next line is read.
      pieces.push(Buffer.from(first ? '' : ','), Buffer.from(bytes));
      size += bytes.length + 1;
      first = false;
      if (size >= chunkSize) {
        yield Buffer.concat(pieces);
        pieces = [];
        size = 0;
      }
    }
    pieces.push(Buffer.from(']'));
    yield Buffer.concat(pieces);
  }

  /** Removes the file. */
  close(): Promise<void> {
    return this.file.close();
  }
}

function keyOf(summary: Pick<EvalSampleSummary, 'id' | 'epoch'>): string {
  return sampleKey(summary.id, summary.epoch);
}

function keyOfLine(bytes: Uint8Array, path: string): string {
  return keyOf(parsePythonJson(Buffer.from(bytes).toString('utf8'), path) as EvalSampleSummary);
}
