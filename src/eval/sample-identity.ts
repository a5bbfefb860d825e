/**
 * The (id, epoch) inside a sample entry, read from its first bytes: Inspect writes a sample as
 * `{"id":…,"epoch":…,` (pydantic's field order), so a copy can check an entry's name against
 * its content without parsing the rest (eval-log-format.md §2).
 */
import type { SampleRef } from '../sample-ref.js';

const leadingIdentity = /^\s*\{\s*"id"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+)\s*,\s*"epoch"\s*:\s*(\d+)\s*[,}]/;
const utf8 = new TextDecoder('utf-8', { fatal: false });

/** The identity the sample's JSON starts with; undefined when it starts otherwise (then parse it whole). */
export function sampleIdentityFromHead(head: Uint8Array): SampleRef | undefined {
  const match = leadingIdentity.exec(utf8.decode(head));
  if (!match) return undefined;
  const [, idToken, epochToken] = match as unknown as [string, string, string];
  const epoch = Number(epochToken);
  if (!Number.isSafeInteger(epoch)) return undefined;
  if (idToken.startsWith('"')) return { id: JSON.parse(idToken) as string, epoch };
  const id = Number(idToken);
  return { id: Number.isSafeInteger(id) ? id : BigInt(idToken), epoch };
}
