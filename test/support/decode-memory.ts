import { execFileSync } from 'node:child_process';

export interface DecodeMeasurement {
  /** The error the decode ended with, if any. */
  error?: { name: string; message: string };
  /** Bytes the entry decoded to (0 when it failed). */
  decodedBytes: number;
  /** Growth of the child process's peak resident set size (maxRSS) during the decode. */
  peakGrowthBytes: number;
  milliseconds: number;
}

/**
 * Reads one entry with our ZipReader in a fresh Node process and reports how far its peak
 * memory grew: a clean measurement, unlike one taken inside a test runner that has already
 * allocated for other tests.
 */
export function measureEntryDecode(zipPath: string, entryName: string): DecodeMeasurement {
  const script = `
const { ZipReader } = await import(process.env.READER_URL);
const { FileByteSource } = await import(process.env.SOURCE_URL);
const source = new FileByteSource(process.env.ZIP_PATH);
const reader = await ZipReader.open(source);
const entry = reader.entry(process.env.ENTRY_NAME);
const before = process.resourceUsage().maxRSS;
const started = Date.now();
let decodedBytes = 0;
let error;
try {
  decodedBytes = (await reader.bytes(entry)).length;
} catch (e) {
  error = { name: e.name, message: e.message };
}
const milliseconds = Date.now() - started;
const peakGrowthBytes = (process.resourceUsage().maxRSS - before) * 1024;
await reader.close();
process.stdout.write(JSON.stringify({ error, decodedBytes, peakGrowthBytes, milliseconds }));
`;
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    env: {
      ...process.env,
      READER_URL: new URL('../../src/zip/zip-reader.js', import.meta.url).href,
      SOURCE_URL: new URL('../../src/bytes/file-byte-source.js', import.meta.url).href,
      ZIP_PATH: zipPath,
      ENTRY_NAME: entryName,
    },
    maxBuffer: 1 << 20,
  });
  return JSON.parse(output.toString('utf8')) as DecodeMeasurement;
}
