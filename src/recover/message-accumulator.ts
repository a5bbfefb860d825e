/**
 * Rebuilds a sample's `messages` and `output` from its events, as Inspect's recovery does
 * (recovery.md §4.1.5): the conversation of the "primary" agent (the role of the first model
 * call), carried across summary and trim compactions. Only the last primary model event is
 * kept, so memory does not grow with the number of events.
 */
type Message = Record<string, unknown>;

interface ModelEvent {
  role?: string | null;
  input: Message[];
  output?: { choices?: { message?: Message }[] } & Record<string, unknown>;
}

export const emptyModelOutput = (): Record<string, unknown> => ({ model: '', choices: [], completion: '' });

export class MessageAccumulator {
  private merged: Message[] = [];
  private last: ModelEvent | undefined;
  private pendingTrim: Message[] | undefined;
  private output: Record<string, unknown> = emptyModelOutput();
  private primary: string | null | undefined;
  private primaryKnown = false;
  private lastRole: string | null = null;

  /** Feeds one event; `resolveInput` gives a model event's input with pool refs resolved. */
  add(event: Record<string, unknown>, resolveInput: (event: Record<string, unknown>) => Message[]): void {
    if (event.event === 'model') this.addModel(event, resolveInput);
    else if (event.event === 'compaction') this.addCompaction(event);
  }

  private addModel(event: Record<string, unknown>, resolveInput: (event: Record<string, unknown>) => Message[]): void {
    const role = (event.role as string | null | undefined) ?? null;
    if (!this.primaryKnown) {
      this.primary = role;
      this.primaryKnown = true;
    }
    this.lastRole = role;
    if (role !== this.primary) return;
    const model: ModelEvent = { role, input: resolveInput(event), output: event.output as ModelEvent['output'] };
    if (this.pendingTrim) {
      this.merged.push(...trimPrefix(this.pendingTrim, model.input));
      this.pendingTrim = undefined;
    }
    this.last = model;
    this.output = (event.output as Record<string, unknown> | undefined) ?? emptyModelOutput();
  }

  private addCompaction(event: Record<string, unknown>): void {
    const role = (event.role as string | null | undefined) ?? this.lastRole;
    if (!this.primaryKnown || role !== this.primary) return;
    const type = (event.type as string | undefined) ?? 'summary';
    if (type === 'summary') {
      if (this.last) this.merged.push(...segment(this.last));
      this.last = undefined;
    } else if (type === 'trim') {
      if (this.last) this.pendingTrim = this.last.input;
      this.last = undefined;
    }
  }

  result(): { messages: Message[]; output: Record<string, unknown> } {
    return { messages: this.last ? [...this.merged, ...segment(this.last)] : [...this.merged], output: this.output };
  }
}

/** A model call's conversation: its input plus the reply it produced. */
function segment(event: ModelEvent): Message[] {
  const reply = event.output?.choices?.[0]?.message;
  return reply ? [...event.input, reply] : [...event.input];
}

/** The part of the pre-trim conversation that the trimmed one no longer starts with. */
function trimPrefix(before: Message[], after: Message[]): Message[] {
  const first = after[0];
  if (before.length === 0 || !first) return [];
  if (first.id != null) {
    const at = before.findIndex((message) => message.id === first.id);
    if (at >= 0) return before.slice(0, at);
  }
  const at = before.findIndex((message) => message.role === first.role && messageText(message) === messageText(first));
  return at >= 0 ? before.slice(0, at) : [];
}

/** A message's text: string content, or its text parts joined with newlines. */
export function messageText(message: Message): string {
  const content = message.content;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter((part): part is { type: string; text: string } => part?.type === 'text' && typeof part.text === 'string')
    .map((part) => part.text)
    .join('\n');
}
