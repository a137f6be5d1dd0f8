import fc from 'fast-check';

/**
 * Words a process can receive (no NUL: argv is NUL-terminated; well-formed UTF-16), weighted
 * towards what shells treat specially. Shared by the local and the SSH quoting properties.
 */
export const argWord = fc
  .oneof(
    fc.string({ unit: 'binary' }),
    fc.string({
      unit: fc.constantFrom(
        "'",
        '"',
        '\\',
        '$',
        '`',
        '(',
        ')',
        '\n',
        ' ',
        '*',
        ';',
        '&',
        '|',
        '~',
        'é',
        '😀',
      ),
    }),
    fc.constantFrom('', "'", "'\\''", '$(id)', '`id`', '${HOME}', '-n', '--', '%s', 'a\nb', '\t', '日本語'),
  )
  .filter((s) => !s.includes('\0') && Buffer.from(s, 'utf8').toString('utf8') === s);
