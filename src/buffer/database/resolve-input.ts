/**
 * Inspect's `get_samples` gives summaries with the `attachment://` refs of a message-list `input`
 * replaced by the attachment text (sample-buffer.md §A.6); a string input is never condensed.
 */
import { resolveAttachmentRefs, type AttachmentLookup } from '../../eval/attachments.js';
import type { ChatMessage, SampleSummary } from '../schemas.js';

/**
 * Resolves refs in each message's `content` and `tool_calls` (the parts Inspect's condensing walks).
 * A ref whose hash is unknown stays as it is, as in Inspect. The input is not modified.
 */
export function resolveInputAttachments(input: SampleSummary['input'], lookup: AttachmentLookup): SampleSummary['input'] {
  if (typeof input === 'string') return input;
  return input.map((message) => {
    const resolved: ChatMessage = { ...message, content: resolveAttachmentRefs(message.content, lookup) };
    if ('tool_calls' in message) resolved.tool_calls = resolveAttachmentRefs(message.tool_calls, lookup);
    return resolved;
  });
}
