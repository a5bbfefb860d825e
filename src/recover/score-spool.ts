/**
 * The scores of every sample written, kept on disk (one JSON line per sample) so that memory
 * stays flat however many samples a log holds, and read back grouped by sample id for the epoch
 * reducers (recovery.md §6).
 *
 * Memory per sample is one 53-bit hash of its id (8 bytes in a Float64Array). Ids whose hash
 * occurs more than once (epochs > 1, or a collision) are settled exactly by re-reading their keys
 * from the file; only then is anything held per id: the positions of a repeated id's lines.
 */
import { parsePythonJson, stringifyPythonJson } from '../json/python-json.js';
import { LineSpool, type SpooledLine } from '../bytes/line-spool.js';
import { logIdKey, type SampleId } from '../sample-ref.js';
import { KeyHashes } from '../eval/key-hashes.js';

/** What the reducers use of a score; nothing else (history...) is kept. */
export interface SampleScore {
  value?: unknown;
  answer?: unknown;
  explanation?: unknown;
  metadata?: unknown;
}

/** One sample id's scores of one name, in the order written (one per epoch). */
export interface SampleScores {
  id: SampleId;
  scores: SampleScore[];
}

export interface ScoreSpoolOptions {
  /** A 53-bit hash of a sample key; tests inject a colliding one. Default cyrb53. */
  hash?: (key: string) => number;
}

type Scores = Record<string, SampleScore | null | undefined>;
type SpooledSample = [key: string, id: SampleId, scores: Scores];

/** Where one line of a repeated id lies in the file. */
interface LineAt {
  line: number;
  offset: number;
  length: number;
}

export class ScoreSpool {
  private readonly hashes: KeyHashes;
  private readonly names = new Set<string>();
  private readonly listOrDictNames = new Set<string>();
  /** Lines of repeated ids, each mapped to all its id's lines; valid while `count` is unchanged. */
  private repeats?: { count: number; byLine: Map<number, LineAt[]> };

  private constructor(
    private readonly file: LineSpool,
    hash: ((key: string) => number) | undefined,
  ) {
    this.hashes = new KeyHashes(hash);
  }

  static async create(options: ScoreSpoolOptions = {}): Promise<ScoreSpool> {
    return new ScoreSpool(await LineSpool.create('scores.jsonl'), options.hash);
  }

  get path(): string {
    return this.file.path;
  }

  /** Samples appended. */
  get size(): number {
    return this.hashes.count;
  }

  /** Score names in order of first appearance. */
  get scoreNames(): string[] {
    return [...this.names];
  }

  /** Whether some sample's score of this name has a list or dict value. */
  hasListOrDictValue(name: string): boolean {
    return this.listOrDictNames.has(name);
  }

  append(id: SampleId, scores: Scores): void {
    const kept: Scores = {};
    for (const [name, score] of Object.entries(scores)) {
      this.names.add(name);
      if (typeof score?.value === 'object' && score.value !== null) this.listOrDictNames.add(name);
      kept[name] = score && { value: score.value, answer: score.answer, explanation: score.explanation, metadata: score.metadata };
    }
    const key = logIdKey(id);
    // The key is written as plain JSON, which keeps lone surrogates exactly: grouping stays exact.
    this.file.append(`[${JSON.stringify(key)},${stringifyPythonJson(id)},${stringifyPythonJson(kept)}]`);
    this.hashes.add(key);
  }

  /**
   * The scores of this name grouped by sample id, in order of each id's first sample with one
   * (the id given is that sample's), a batch at a time: one parse and one await per batch.
   */
  async *bySample(name: string): AsyncGenerator<SampleScores[]> {
    const repeats = await this.repeatedLines();
    // Repeated ids already given (per-id memory, for repeated ids only).
    const given = new Set<LineAt[]>();
    let line = 0;
    for await (const lines of this.file.lineBatches()) {
      const batch: SampleScores[] = [];
      for (const [, id, scores] of parseLines(lines)) {
        const index = line++;
        const score = scores[name];
        if (!score) continue;
        const group = repeats.get(index);
        if (!group) {
          batch.push({ id, scores: [score] });
          continue;
        }
        if (given.has(group)) continue;
        given.add(group);
        const all = [score];
        for (const later of group) {
          if (later.line <= index) continue;
          const laterScore = parseLine(this.file.line(later.offset, later.length))[2][name];
          if (laterScore) all.push(laterScore);
        }
        batch.push({ id, scores: all });
      }
      if (batch.length) yield batch;
    }
  }

  /** Removes the file. */
  close(): Promise<void> {
    return this.file.close();
  }

  /** Lines whose id another line shares: equal hashes, then equal keys read back from the file. */
  private async repeatedLines(): Promise<Map<number, LineAt[]>> {
    const count = this.hashes.count;
    if (this.repeats?.count === count) return this.repeats.byLine;
    const candidates = this.hashes.sharedPositions();
    const byLine = new Map<number, LineAt[]>();
    if (candidates.size > 0) {
      const byKey = new Map<string, LineAt[]>();
      let line = 0;
      for await (const batch of this.file.lineBatches()) {
        for (const { offset, bytes } of batch) {
          const index = line++;
          if (!candidates.has(index)) continue;
          const [key] = parseLine(bytes.toString('utf8'));
          const lines = byKey.get(key) ?? [];
          lines.push({ line: index, offset, length: bytes.length });
          byKey.set(key, lines);
        }
      }
      for (const lines of byKey.values()) if (lines.length > 1) for (const { line } of lines) byLine.set(line, lines);
    }
    this.repeats = { count, byLine };
    return byLine;
  }
}

/** A batch of lines parsed as one JSON array: far cheaper than a parse per line. */
function parseLines(lines: SpooledLine[]): SpooledSample[] {
  return parsePythonJson(`[${lines.map(({ bytes }) => bytes.toString('utf8')).join(',')}]`, 'spooled score lines') as SpooledSample[];
}

function parseLine(text: string): SpooledSample {
  return parsePythonJson(text, 'a spooled score line') as SpooledSample;
}
