/** `attachment://<hash>` references (eval-log-format.md §5); `tc://` is the legacy prefix. */

const prefixes = ['attachment://', 'tc://'];
const dataUri = /^data:[^,]*;base64,/;

export type AttachmentLookup = (hash: string) => string | undefined;

/** The hash a string refers to, or undefined when it is not a reference. */
export function attachmentHash(value: string): string | undefined {
  for (const prefix of prefixes) if (value.startsWith(prefix)) return value.slice(prefix.length);
  return undefined;
}

export interface ResolveOptions {
  /**
   * Leave references to base64 data URIs (images, audio) in place: Inspect itself stores
   * those as attachments in `input` and `messages`, and they are large.
   */
  keepDataUris?: boolean;
}

/**
 * A copy of `value` with every reference whose content is known replaced by that content.
 * Unknown references stay as they are. The input is not modified.
 */
export function resolveAttachmentRefs<T>(value: T, lookup: AttachmentLookup, options: ResolveOptions = {}): T {
  const resolve = (item: unknown): unknown => {
    if (typeof item === 'string') {
      const hash = attachmentHash(item);
      if (hash === undefined) return item;
      const content = lookup(hash);
      if (content === undefined || (options.keepDataUris && dataUri.test(content))) return item;
      return content;
    }
    if (Array.isArray(item)) return item.map(resolve);
    if (item !== null && typeof item === 'object') {
      return Object.fromEntries(Object.entries(item).map(([key, child]) => [key, resolve(child)]));
    }
    return item;
  };
  return resolve(value) as T;
}
