import { execFileSync } from 'node:child_process';

/**
 * Opens a zip with Python's zipfile, which is what Inspect itself reads `.eval` files with:
 * checks every CRC of deflate and stored entries (zstd ones it cannot decode without Inspect's
 * patch, so it checks only their directory) and returns the entry count.
 */
export function pythonReadsZip(path: string): { entries: number } {
  const script = `
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for info in z.infolist():
        if info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            with z.open(info) as f:
                while f.read(1 << 20):
                    pass
    print(len(z.infolist()))
`;
  const out = execFileSync('python3', ['-c', script, path], { encoding: 'utf8' });
  return { entries: Number(out.trim()) };
}

/** Python's json.loads over one entry (deflate or stored), returned as Python's repr of a field. */
export function pythonJsonField(path: string, entry: string, expression: string): string {
  const script = `
import sys, json, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    value = json.loads(z.read(sys.argv[2]))
print(repr(${expression}))
`;
  return execFileSync('python3', ['-c', script, path, entry], { encoding: 'utf8' }).trim();
}
