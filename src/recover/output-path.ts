/** Where a recovered log goes by default (recovery.md §8): `runs/x.eval` → `runs/x-recovered.eval`. */
export function defaultOutputPath(location: string): string {
  return location.endsWith('.eval') ? `${location.slice(0, -'.eval'.length)}-recovered.eval` : `${location}-recovered`;
}

/** The directory part of a local path or an s3:// URI. */
export function parentLocation(location: string): string {
  const slash = location.lastIndexOf('/');
  if (slash < 0) return '.';
  return slash === 0 ? '/' : location.slice(0, slash);
}
