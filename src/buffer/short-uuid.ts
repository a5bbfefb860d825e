import { randomInt } from 'node:crypto';

/** shortuuid's alphabet: base57, without the look-alikes 0, 1, I, O and l. */
const alphabet = '23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/** A random 22-character id in the shape of Inspect's `shortuuid()` (event and sample uuids). */
export function shortUuid(): string {
  let id = '';
  for (let i = 0; i < 22; i++) id += alphabet[randomInt(alphabet.length)];
  return id;
}
