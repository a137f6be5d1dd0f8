/** Writes a command's report: one JSON object, or the text its renderer makes. */
export function writeReport<R>(output: 'text' | 'json', report: R, text: (r: R) => string): void {
  process.stdout.write(output === 'json' ? JSON.stringify(report) + '\n' : text(report));
}
