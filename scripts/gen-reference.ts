// Regenerates docs/reference.md, the file-format reference, from the JSON Schemas.
//   npx tsx scripts/gen-reference.ts           rewrite docs/reference.md (run it after a schema change)
//   npx tsx scripts/gen-reference.ts --check   exit 1 when docs/reference.md is out of date
//   npx tsx scripts/gen-reference.ts --print   print the page instead of writing it
import { generatedReference, storedReference, writeReference } from '../src/docs/reference-page.js';

const arg = process.argv[2];
if (arg === undefined || arg === '--write') {
  const changed = writeReference();
  process.stdout.write(changed ? 'docs/reference.md: updated\n' : 'docs/reference.md: already up to date\n');
} else if (arg === '--check') {
  if (storedReference() !== generatedReference()) {
    process.stderr.write(
      'docs/reference.md differs from the schemas; run `npx tsx scripts/gen-reference.ts`\n',
    );
    process.exitCode = 1;
  }
} else if (arg === '--print') {
  process.stdout.write(generatedReference());
} else {
  process.stderr.write('usage: npx tsx scripts/gen-reference.ts [--check | --print]\n');
  process.exitCode = 1;
}
