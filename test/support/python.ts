import { execFileSync } from 'node:child_process';

/**
 * Python's reading of a zip entry, what Inspect itself reads `.eval` files with: zipfile for
 * stored and deflate entries; for zstd (method 93, which Python's zipfile reads only from 3.14),
 * zipfile locates the entry and the zstd CLI decodes its raw bytes. Either way the CRC-32 and the
 * size are checked against the directory.
 */
const pythonEntryReader = `
import subprocess, struct, zipfile, zlib
def read_entry(z, info):
    if info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return z.read(info)
    if info.compress_type != 93:
        raise ValueError(f'{info.filename}: compression method {info.compress_type}')
    z.fp.seek(info.header_offset)
    local = z.fp.read(30)
    if local[:4] != b'PK\\x03\\x04':
        raise ValueError(f'{info.filename}: no local header')
    name_length, extra_length = struct.unpack('<HH', local[26:30])
    z.fp.seek(info.header_offset + 30 + name_length + extra_length)
    data = subprocess.run(['zstd', '-q', '-d', '-c'], input=z.fp.read(info.compress_size), capture_output=True, check=True).stdout
    if len(data) != info.file_size or zlib.crc32(data) != info.CRC:
        raise ValueError(f'{info.filename}: size or CRC-32 does not match the directory')
    return data
`;

/** Opens a zip with Python and reads every entry (see above), checking each CRC; returns the entry count. */
export function pythonReadsZip(path: string): { entries: number } {
  const script = `${pythonEntryReader}
import sys
with zipfile.ZipFile(sys.argv[1]) as z:
    for info in z.infolist():
        read_entry(z, info)
    print(len(z.infolist()))
`;
  const out = execFileSync('python3', ['-c', script, path], { encoding: 'utf8' });
  return { entries: Number(out.trim()) };
}

/** Python's json.loads over one entry, returned as Python's repr of a field. */
export function pythonJsonField(path: string, entry: string, expression: string): string {
  const script = `${pythonEntryReader}
import sys, json
with zipfile.ZipFile(sys.argv[1]) as z:
    value = json.loads(read_entry(z, z.getinfo(sys.argv[2])))
print(repr(${expression}))
`;
  return execFileSync('python3', ['-c', script, path, entry], { encoding: 'utf8' }).trim();
}

/** Python's json.loads over every entry of a zip (as Inspect reads a log's entries); returns how many it read. */
export function pythonLoadsEveryEntry(path: string): number {
  const script = `${pythonEntryReader}
import sys, json
with zipfile.ZipFile(sys.argv[1]) as z:
    for info in z.infolist():
        json.loads(read_entry(z, info))
    print(len(z.infolist()))
`;
  return Number(execFileSync('python3', ['-c', script, path], { encoding: 'utf8' }).trim());
}

/** Whether Python's json.loads reads each document (bytes), in one Python process. */
export function pythonLoadsEach(documents: readonly Uint8Array[]): boolean[] {
  const script = `
import sys, json, base64
for line in sys.stdin:
    try:
        json.loads(base64.b64decode(line))
        print(1)
    except Exception:
        print(0)
`;
  const input = documents.map((document) => Buffer.from(document).toString('base64')).join('\n') + '\n';
  return execFileSync('python3', ['-c', script], { input, encoding: 'utf8', maxBuffer: 1 << 26 }).trim().split('\n').map((line) => line === '1');
}
