/**
 * `npm run build:wheel`: a Python wheel that carries the single executable (build/binary.ts) as a
 * console script, for an Inspect venv: `pip install ./inspect_recover-….whl` puts
 * `inspect-recover` on its PATH, with no Node anywhere. The package's Python side is only a
 * launcher that executes the file. Written with Python's zipfile (where a wheel is read).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBinary } from './binary.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The executable runs on glibc 2.28 and later, as Node 24's linux-x64 build does. */
const platformTag = 'manylinux_2_28_x86_64';

/** Lays the wheel out and zips it, with RECORD's hashes and the executable's mode. */
const pythonWheelWriter = `
import base64, hashlib, os, stat, sys, zipfile
binary, version, output = sys.argv[1:4]
info = f'inspect_recover-{version}.dist-info'
files = {
    'inspect_recover/__init__.py': b'"""inspect-recover: recover crashed Inspect AI eval logs (the single executable, launched)."""\\n',
    'inspect_recover/__main__.py': (
        b'import os\\nimport sys\\n\\n\\n'
        b'def main() -> None:\\n'
        b'    binary = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bin", "inspect-recover")\\n'
        b'    os.execv(binary, [binary, *sys.argv[1:]])\\n\\n\\n'
        b'if __name__ == "__main__":\\n    main()\\n'
    ),
    f'{info}/METADATA': f'Metadata-Version: 2.1\\nName: inspect-recover\\nVersion: {version}\\nSummary: Recover crashed Inspect AI eval runs into complete .eval logs\\nLicense: MIT\\nRequires-Python: >=3.8\\n'.encode(),
    f'{info}/WHEEL': f'Wheel-Version: 1.0\\nGenerator: inspect-recover build/wheel.ts\\nRoot-Is-Purelib: false\\nTag: py3-none-${platformTag}\\n'.encode(),
    f'{info}/entry_points.txt': b'[console_scripts]\\ninspect-recover = inspect_recover.__main__:main\\n',
}
def digest(data):
    return 'sha256=' + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()
with open(binary, 'rb') as handle:
    executable = handle.read()
records = [f'{name},{digest(data)},{len(data)}' for name, data in files.items()]
records.append(f'inspect_recover/bin/inspect-recover,{digest(executable)},{len(executable)}')
records.append(f'{info}/RECORD,,')
with zipfile.ZipFile(output, 'w', zipfile.ZIP_DEFLATED) as wheel:
    for name, data in files.items():
        wheel.writestr(name, data)
    entry = zipfile.ZipInfo('inspect_recover/bin/inspect-recover', date_time=(2026, 1, 1, 0, 0, 0))
    entry.external_attr = (stat.S_IFREG | 0o755) << 16
    entry.compress_type = zipfile.ZIP_DEFLATED
    wheel.writestr(entry, executable)
    wheel.writestr(f'{info}/RECORD', '\\n'.join(records) + '\\n')
`;

/** Builds the executable (unless given one built already), then the wheel into `outputDir` (default the repository); the wheel's path. */
export async function buildWheel(outputDir = repoRoot, built?: string): Promise<string> {
  const work = await mkdtemp(join(tmpdir(), 'inspect-recover-wheel-'));
  try {
    const binary = built ?? (await buildBinary(join(work, 'inspect-recover'))).path;
    const { version } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    const wheel = join(outputDir, `inspect_recover-${version}-py3-none-${platformTag}.whl`);
    execFileSync('python3', ['-c', pythonWheelWriter, binary, version, wheel], { stdio: ['ignore', 'ignore', 'pipe'] });
    return wheel;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`built ${await buildWheel(process.argv[2] ? resolve(process.argv[2]) : undefined)}\n`);
}
