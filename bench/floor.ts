/**
 * The floor of a recovery: what no recovery can avoid, timed in-process (start-up excluded).
 * The log and its buffer are read once, whole. The buffer's entries are decoded: every member of
 * every segment, or every row of every table of the database. Usage:
 * floor.js <log> <buffer: a .db file or a .buffer/<name> directory>. Prints the milliseconds.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { openSqlite } from '../src/buffer/database/sqlite.js';
import { MemoryByteSource } from '../src/bytes/byte-source.js';
import { ZipReader } from '../src/zip/zip-reader.js';

const [log, buffer] = process.argv.slice(2) as [string, string];
const started = performance.now();
await readFile(log);
if ((await stat(buffer)).isDirectory()) {
  for (const name of await readdir(buffer)) {
    const bytes = await readFile(join(buffer, name));
    if (!name.endsWith('.zip')) continue;
    const zip = await ZipReader.open(new MemoryByteSource(bytes, name));
    for (const entry of zip.entries) await zip.bytes(entry);
    await zip.close();
  }
} else {
  const database = openSqlite(buffer, { fileMustExist: true });
  const tables = database.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
  for (const table of tables) for (const row of database.prepare(`SELECT * FROM "${table}"`).iterate()) void row;
  database.close();
}
process.stdout.write(`${Math.round(performance.now() - started)}\n`);
