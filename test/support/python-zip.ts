import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

/**
 * Python's standard `zipfile`, the zip implementation Inspect itself uses, as an independent
 * implementation: it writes archives our reader must read and reads archives our writer wrote.
 */
const python = 'python3';

let available: boolean | undefined;

export function pythonAvailable(): boolean {
  available ??= spawnSync(python, ['-c', 'import zipfile, zlib, json'], { stdio: 'ignore' }).status === 0;
  return available;
}

/** Suite options: run where python3 exists; fail on CI without it; skip elsewhere. */
export function pythonSuiteOptions(): { skip?: string } {
  if (pythonAvailable()) return {};
  if (process.env.CI) throw new Error('python3 is not installed; on CI the zip interoperability suites must run');
  return { skip: 'python3 is not installed' };
}

/** Runs a Python script; its stdout comes back. A failure throws with Python's stderr. */
export function runPython(script: string, options: { input?: string | Uint8Array; args?: string[] } = {}): Buffer {
  try {
    return execFileSync(python, ['-c', script, ...(options.args ?? [])], {
      input: options.input ?? '',
      maxBuffer: 1 << 30,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`python3 failed: ${stderr || (error as Error).message}`);
  }
}

export interface PythonEntrySpec {
  name: string;
  data: string | Uint8Array;
  /** Defaults to deflate (what Inspect wrote before zstd). */
  method?: 'stored' | 'deflate';
  /** Write through `ZipFile.open(name, 'w', force_zip64=True)`, as Inspect's recovery does. */
  forceZip64?: boolean;
}

export interface PythonZipSpec {
  entries: PythonEntrySpec[];
  /** Archive comment. */
  comment?: string;
  /** Write into a pipe (not seekable): zipfile then writes data descriptors (flag bit 3). */
  unseekable?: boolean;
}

const writeScript = `
import base64, json, sys, warnings, zipfile
warnings.simplefilter('ignore')  # duplicate names are deliberate
spec = json.load(sys.stdin)
methods = {'stored': zipfile.ZIP_STORED, 'deflate': zipfile.ZIP_DEFLATED}
out = sys.stdout.buffer if spec.get('unseekable') else open(spec['path'], 'wb')
with zipfile.ZipFile(out, 'w') as z:
    for e in spec['entries']:
        info = zipfile.ZipInfo(e['name'], date_time=(2025, 10, 6, 10, 15, 42))
        info.compress_type = methods[e.get('method') or 'deflate']
        info.external_attr = 0o600 << 16
        data = base64.b64decode(e['data'])
        if e.get('forceZip64'):
            with z.open(info, 'w', force_zip64=True) as f:
                f.write(data)
        else:
            z.writestr(info, data)
    if spec.get('comment') is not None:
        z.comment = spec['comment'].encode('utf-8')
if out is not sys.stdout.buffer:
    out.close()
`;

function toBuffer(data: string | Uint8Array): Buffer {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** Writes an archive with Python's zipfile. */
export function pythonWriteZip(path: string, spec: PythonZipSpec): void {
  const input = JSON.stringify({
    ...spec,
    path,
    entries: spec.entries.map((entry) => ({ ...entry, data: toBuffer(entry.data).toString('base64') })),
  });
  const output = runPython(writeScript, { input });
  if (spec.unseekable) writeFileSync(path, output);
}

/** Writes `count` small entries named `entry-<i>` (content: the index) with Python's zipfile. */
export function pythonWriteManyEntries(path: string, count: number): void {
  runPython(
    `
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_STORED) as z:
    for i in range(int(sys.argv[2])):
        z.writestr('entry-%d' % i, str(i))
`,
    { args: [path, String(count)] },
  );
}

export interface PythonEntryInfo {
  name: string;
  flagBits: number;
  compressType: number;
  fileSize: number;
  compressSize: number;
  crc: number;
  headerOffset: number;
  extractVersion: number;
  externalAttr: number;
  createSystem: number;
  /** [year, month, day, hour, minute, second] from the DOS fields. */
  dateTime: number[];
  /** The decoded bytes (absent when read with `data: false`). */
  data?: Buffer;
}

export interface PythonZipInfo {
  /** `ZipFile.testzip()`: null when every entry reads back with a good CRC. */
  testzip: string | null;
  comment: string;
  count: number;
  entries: PythonEntryInfo[];
}

const readScript = `
import base64, json, sys, zipfile
path, with_data, with_entries = sys.argv[1], sys.argv[2] == '1', sys.argv[3] == '1'
with zipfile.ZipFile(path) as z:
    infos = z.infolist()
    result = {'testzip': z.testzip() if with_data else None, 'comment': z.comment.decode('utf-8', 'replace'),
              'count': len(infos), 'entries': []}
    for i in (infos if with_entries else []):
        entry = {'name': i.filename, 'flagBits': i.flag_bits, 'compressType': i.compress_type,
                 'fileSize': i.file_size, 'compressSize': i.compress_size, 'crc': i.CRC,
                 'headerOffset': i.header_offset, 'extractVersion': i.extract_version,
                 'externalAttr': i.external_attr, 'createSystem': i.create_system, 'dateTime': list(i.date_time)}
        if with_data:
            entry['data'] = base64.b64encode(z.read(i)).decode('ascii')
        result['entries'].append(entry)
print(json.dumps(result))
`;

/**
 * Reads an archive with Python's zipfile: every entry's metadata and (with `data`, the default)
 * its bytes and the result of `testzip()`.
 */
export function pythonReadZip(path: string, options: { data?: boolean; entries?: boolean } = {}): PythonZipInfo {
  const withData = options.data ?? true;
  const withEntries = options.entries ?? true;
  const output = runPython(readScript, { args: [path, withData ? '1' : '0', withEntries ? '1' : '0'] });
  type RawEntry = Omit<PythonEntryInfo, 'data'> & { data?: string };
  const result = JSON.parse(output.toString('utf8')) as Omit<PythonZipInfo, 'entries'> & { entries: RawEntry[] };
  return {
    ...result,
    entries: result.entries.map(({ data, ...entry }) => (data === undefined ? entry : { ...entry, data: Buffer.from(data, 'base64') })),
  };
}

/** Python's `zlib.crc32`: an independent CRC-32 for building and checking inputs. */
export function pythonCrc32(data: Uint8Array): number {
  const output = runPython('import sys, zlib; print(zlib.crc32(sys.stdin.buffer.read()))', { input: data });
  return Number(output.toString('utf8').trim());
}
