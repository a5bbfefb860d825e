import { execFileSync, spawnSync } from 'node:child_process';

/** The real zstd encoder (Node 20 has none): builds zstd inputs for the decoder tests. */
const zstdCommand = 'zstd';

let available: boolean | undefined;

export function zstdAvailable(): boolean {
  available ??= spawnSync(zstdCommand, ['--version'], { stdio: 'ignore' }).status === 0;
  return available;
}

/**
 * Options for a suite that needs the zstd CLI: it runs where zstd is installed, fails on CI
 * when it is missing (a suite must never silently skip there) and skips elsewhere.
 */
export function zstdSuiteOptions(): { skip?: string } {
  if (zstdAvailable()) return {};
  if (process.env.CI) throw new Error('the zstd CLI is not installed (apt-get install zstd); on CI the zstd suites must run');
  return { skip: 'the zstd CLI is not installed (apt-get install zstd)' };
}

/** Compresses bytes with the zstd CLI into one frame (`args`: e.g. ['-19'] or ['--no-check']). */
export function zstdCompress(data: Uint8Array | string, args: string[] = []): Buffer {
  return execFileSync(zstdCommand, ['-q', '-c', ...args], { input: data, maxBuffer: 1 << 30 });
}

/** Compresses a file with the zstd CLI (it records the content size in the frame header). */
export function zstdCompressFile(path: string, args: string[] = []): Buffer {
  return execFileSync(zstdCommand, ['-q', '-c', ...args, path], { maxBuffer: 1 << 30 });
}

/** Decompresses with the zstd CLI: the reference our decoder is compared with. */
export function zstdDecompress(data: Uint8Array): Buffer {
  return execFileSync(zstdCommand, ['-q', '-d', '-c'], { input: data, maxBuffer: 1 << 30 });
}
