/**
 * Copies the crashed log's flushed samples into the recovered log as their compressed bytes,
 * each checked on the way (recovery.md §4.2): an entry that fails its CRC, would unzip outside
 * `samples/`, or holds another (id, epoch) than its name says and the log has that one already,
 * is left out with a warning, so the output never carries damage or a sample twice.
 */
import { EntryDataError, EvalLogFormatError, JsonFormatError, ZipFormatError } from '../errors.js';
import type { BufferedSampleEntry } from '../buffer/buffered-sample.js';
import { isSafeEntryName, sampleEntryName } from '../eval/entry-names.js';
import type { EvalLogReader } from '../eval/eval-log-reader.js';
import type { EvalLogWriter } from '../eval/eval-log-writer.js';
import { sampleIdentityFromHead } from '../eval/sample-identity.js';
import type { SampleRef } from '../sample-ref.js';
import { summarizeSample } from '../eval/sample-summary.js';
import type { EvalSampleSummary } from '../eval/schemas.js';
import type { ZipEntry } from '../zip/zip-entry.js';
import { warnings, type WarningHandler } from '../warnings.js';
import type { SamplePlan } from './sample-plan.js';

export interface FlushedCopy {
  copied: number;
  /** Entry names not copied: damaged, unsafe, or a second copy of a sample. */
  leftOut: Set<string>;
  /** Entry names whose summary came from the sample itself (no journal row, or renamed): their rows are not used. */
  ownSummary: Set<string>;
  /** Entry names of the samples copied under another name, by that name (what they hold). */
  renamedTo: Set<string>;
}

export interface FlushedCopyContext {
  log: EvalLogReader;
  writer: EvalLogWriter;
  plan: SamplePlan;
  warn: WarningHandler;
  /** Called with each copied sample's own summary (the others come from the journal). */
  addSummary: (summary: EvalSampleSummary) => Promise<void>;
  onCopied: () => void;
}

export async function copyFlushedSamples({ log, writer, plan, warn, addSummary, onCopied }: FlushedCopyContext): Promise<FlushedCopy> {
  const copy: FlushedCopy = { copied: 0, leftOut: new Set(), ownSummary: new Set(), renamedTo: new Set() };
  const directory = log.zip.directory;
  const leaveOut = (entry: ZipEntry, code: 'sampleDamaged' | 'sampleNameUnsafe', why: string) => {
    copy.leftOut.add(entry.name);
    const fallback = plan.heldByLog.has(entry.name) ? 'its buffered copy is used instead' : 'that sample is lost';
    warn(warnings[code](`${log.name}: flushed sample ${JSON.stringify(entry.name)} ${why}; left out, ${fallback}`, { entry: entry.name }, log.name));
  };
  for (const entry of log.sampleEntries()) {
    if (plan.replaced.has(entry.name)) continue;
    if (!isSafeEntryName(entry.name)) {
      leaveOut(entry, 'sampleNameUnsafe', 'has a name that would unzip outside samples/');
      continue;
    }
    try {
      const checked = await log.zip.checkedRaw(entry);
      let identity: SampleRef | undefined = sampleIdentityFromHead(checked.head);
      const noRow = plan.lastRowOf[directory.positionOf(entry.name)!] === -1;
      let summary: EvalSampleSummary | undefined;
      if (!identity || noRow || sampleEntryName(identity.id, identity.epoch) !== entry.name) {
        summary = summarizeSample(await log.readSample(entry));
        identity = { id: summary.id, epoch: summary.epoch };
      }
      const name = sampleEntryName(identity.id, identity.epoch);
      if (name !== entry.name) {
        if (!isSafeEntryName(name)) {
          leaveOut(entry, 'sampleNameUnsafe', `holds a sample whose id would unzip outside samples/`);
          continue;
        }
        if (directory.positionOf(name) !== undefined || copy.renamedTo.has(name)) {
          leaveOut(entry, 'sampleDamaged', `holds id=${String(identity.id)} epoch=${identity.epoch}, which the log already has`);
          continue;
        }
        copy.renamedTo.add(name);
        warn(
          warnings.sampleRenamed(
            `${log.name}: flushed entry ${JSON.stringify(entry.name)} holds id=${String(identity.id)} epoch=${identity.epoch}: copied as ${JSON.stringify(name)}`,
            { entry: entry.name, name },
            log.name,
          ),
        );
      }
      await writer.addRawSample(entry, checked, name);
      if (summary) {
        copy.ownSummary.add(entry.name);
        await addSummary(summary);
      }
      copy.copied++;
      onCopied();
    } catch (error) {
      if (!isSampleDamage(error)) throw error;
      leaveOut(entry, 'sampleDamaged', `cannot be used: ${reasonOf(error, entry.name)}`);
    }
  }
  return copy;
}

/** The buffered samples to rebuild once the flushed ones are copied: damaged ones fall back to the buffer's copy; renamed ones displace it. */
export function bufferedAfterCopy(plan: SamplePlan, copy: FlushedCopy): { buffered: BufferedSampleEntry[]; duplicates: number } {
  const buffered = plan.buffered.filter((entry) => !copy.renamedTo.has(sampleEntryName(entry.id, entry.epoch)));
  // As before the copy: every (id, epoch) both places hold counts once, whichever copy is written.
  let duplicates = plan.heldByLog.size + plan.replaced.size + (plan.buffered.length - buffered.length);
  for (const [name, entry] of plan.heldByLog) {
    if (!copy.leftOut.has(name)) continue;
    buffered.push(entry);
    duplicates--;
  }
  return { buffered, duplicates };
}

/** Damage to a sample's data or what it says: it costs that sample, not the recovery. */
export function isSampleDamage(error: unknown): error is Error {
  return error instanceof EntryDataError || error instanceof ZipFormatError || error instanceof JsonFormatError || error instanceof EvalLogFormatError;
}

/** The error's message without the `<log>: <entry>:` it starts with. */
function reasonOf(error: Error, entryName: string): string {
  const at = error.message.indexOf(`${entryName}: `);
  return (at >= 0 ? error.message.slice(at + entryName.length + 2) : error.message).slice(0, 300);
}
