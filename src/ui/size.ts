// Sizes for people: text output shows these; JSON output keeps the exact byte counts.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 512 → "512 B", 1536 → "1.5 KiB", 7_340_032 → "7.0 MiB": powers of 1024, as du -h counts. */
export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${UNITS[u]}`;
}

/** "1 repository", "2 repositories", "0 blobs": the noun's plural is given where it is not noun+s. */
export function plural(n: number, noun: string, nouns = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : nouns}`;
}
