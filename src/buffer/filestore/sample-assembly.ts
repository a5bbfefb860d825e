/**
 * Builds one sample's data from its segment members, fed in segment-id order (recovery.md §4.3
 * pass 1): events collapsed to their logical history across all segments, attachments (first
 * content per hash wins), and the two pools concatenated in row-id order. It also tracks where a
 * pool stops being trustworthy: pool positions are ranks, so once rows are missing every later
 * row sits at the wrong position.
 */
import { InspectRecoverError } from '../../errors.js';
import type { AttachmentRow, BufferEventRow, CallPoolRow, CollapsedBufferEvent, MessagePoolRow } from '../buffer-rows.js';
import { toAttachmentRow, toCallPoolRow, toEventRow, toMessagePoolRow, type RowOwner } from './rows.js';
import type { SegmentMember } from './segment.js';

export type PoolName = 'messagePool' | 'callPool';

/** How many leading rows of each pool are at their true positions (refs ending within them are sound). */
export interface PoolSoundness {
  messagePool: number;
  callPool: number;
}

export class SampleAssembly {
  readonly attachments = new Map<string, string>();
  readonly messagePool: MessagePoolRow[] = [];
  readonly callPool: CallPoolRow[] = [];
  private readonly slots = new Map<string, CollapsedBufferEvent>();
  // Row ids already taken: a row listed by two segments must not count twice (nor shift a pool).
  private readonly seenEventRows = new Set<number>();
  private readonly seenMessagePoolRows = new Set<number>();
  private readonly seenCallPoolRows = new Set<number>();
  private readonly gapAt: Partial<Record<PoolName, number>> = {};

  constructor(private readonly owner: RowOwner) {}

  /**
   * Adds one segment's member. Unreadable rows are left out; `unreadableRows` describes them and
   * `lostPoolRows` says whether some were pool rows (a pool gap).
   */
  addMember(member: SegmentMember, what: string): { unreadableRows: string[]; lostPoolRows: boolean } {
    const unreadable: string[] = [];
    const read = <T extends { id: number }>(rows: unknown[], table: string, convert: (raw: unknown, owner: RowOwner, what: string) => T) => {
      const good: T[] = [];
      rows.forEach((raw, index) => {
        try {
          good.push(convert(raw, this.owner, `${what} ${table}[${index}]`));
        } catch (error) {
          if (!(error instanceof InspectRecoverError)) throw error;
          unreadable.push(error.message);
        }
      });
      // Inspect writes rows in id order; sort anyway, positions depend on it.
      return { rows: good.sort((a, b) => a.id - b.id), complete: good.length === rows.length };
    };

    for (const row of read(member.events, 'events', toEventRow).rows) this.addEvent(row);
    for (const row of read(member.attachments, 'attachments', toAttachmentRow).rows) this.addAttachment(row);
    const messages = read(member.messagePool, 'message_pool', toMessagePoolRow);
    // A lost row's position is unknown: treat the whole member's rows of that pool as past the gap.
    if (!messages.complete) this.markPoolGap('messagePool');
    for (const row of messages.rows) this.addPoolRow(this.messagePool, this.seenMessagePoolRows, row);
    const calls = read(member.callPool, 'call_pool', toCallPoolRow);
    if (!calls.complete) this.markPoolGap('callPool');
    for (const row of calls.rows) this.addPoolRow(this.callPool, this.seenCallPoolRows, row);
    return { unreadableRows: unreadable, lostPoolRows: !messages.complete || !calls.complete };
  }

  /** Rows of this pool are missing from here on (a skipped segment held some). */
  markPoolGap(pool: PoolName): void {
    this.gapAt[pool] ??= this[pool].length;
  }

  /** Undefined when no pool has a gap. */
  poolSoundness(): PoolSoundness | undefined {
    if (this.gapAt.messagePool === undefined && this.gapAt.callPool === undefined) return undefined;
    return {
      messagePool: this.gapAt.messagePool ?? this.messagePool.length,
      callPool: this.gapAt.callPool ?? this.callPool.length,
    };
  }

  /** One slot per logical event, at its first row, carrying its last row's payload. */
  events(): CollapsedBufferEvent[] {
    return [...this.slots.values()];
  }

  private addEvent(row: BufferEventRow): void {
    if (this.seenEventRows.has(row.id)) return;
    this.seenEventRows.add(row.id);
    const slot = this.slots.get(row.eventId);
    if (slot === undefined) {
      this.slots.set(row.eventId, { ...row, firstRowId: row.id, rowCount: 1 });
      return;
    }
    // Map.set on an existing key keeps its place: the slot stays where its first row was.
    const latest = row.id > slot.id ? row : slot;
    this.slots.set(row.eventId, { ...latest, firstRowId: Math.min(slot.firstRowId, row.id), rowCount: slot.rowCount + 1 });
  }

  private addAttachment(row: AttachmentRow): void {
    if (!this.attachments.has(row.hash)) this.attachments.set(row.hash, row.content);
  }

  private addPoolRow<T extends { id: number }>(pool: T[], seen: Set<number>, row: T): void {
    if (seen.has(row.id)) return;
    seen.add(row.id);
    pool.push(row);
  }
}
