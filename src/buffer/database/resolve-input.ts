/**
 * Inspect's `get_samples` gives summaries with the `attachment://` refs of a message-list `input`
 * replaced by the attachment text (sample-buffer.md §A.6); a string input is never condensed.
 */
import type { ChatMessage, SampleSummary } from './schemas.js';

export const attachmentProtocol = 'attachment://';

/**
 * Resolves refs in each message's `content` and `tool_calls` (the parts Inspect's condensing walks).
 * A ref whose hash is unknown stays as it is, as in Inspect. The input is not modified.
 */
export function resolveInputAttachments(
  input: SampleSummary['input'],
  lookup: (hash: string) => string | undefined,
): SampleSummary['input'] {
  if (typeof input === 'string') return input;
  const resolveValue = (value: unknown): unknown => {
    if (typeof value === 'string') {
      return value.startsWith(attachmentProtocol) ? (lookup(value.slice(attachmentProtocol.length)) ?? value) : value;
    }
    if (Array.isArray(value)) return value.map(resolveValue);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolveValue(item)]));
    }
    return value;
  };
  return input.map((message) => {
    const resolved: ChatMessage = { ...message, content: resolveValue(message.content) as ChatMessage['content'] };
    if ('tool_calls' in message) resolved.tool_calls = resolveValue(message.tool_calls);
    return resolved;
  });
}
