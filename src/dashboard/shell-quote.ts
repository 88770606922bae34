/** Characters a POSIX shell never treats specially inside a word. */
const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Words a shell reads as syntax, not as a command name, when they come first. */
const RESERVED = new Set([
  'case',
  'do',
  'done',
  'elif',
  'else',
  'esac',
  'fi',
  'for',
  'function',
  'if',
  'in',
  'select',
  'then',
  'time',
  'until',
  'while',
]);

/** One word, quoted so that a POSIX shell reads it back unchanged. Pure. */
export function shellQuoteWord(word: string, first = false): string {
  // A first word with `=` would be an assignment, a reserved word syntax, and a line that starts
  // with `-` or `+` an option of `sh -c` itself.
  const plain =
    SAFE_WORD.test(word) &&
    !(first && (word.includes('=') || RESERVED.has(word) || /^[-+]/.test(word)));
  if (plain) return word;
  // Inside single quotes nothing is special but the quote itself, which is closed, escaped
  // and reopened.
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * A command (argv) as one line a person can copy into a POSIX shell: `sh -c` of the line runs
 * exactly that argv (words are quoted only when they need it). Pure. Arguments cannot hold NUL
 * (no argv can), so every argv has a line.
 *
 * @example shellQuote(['sh', '-c', "echo 'hi' $HOME"]) === `sh -c 'echo '\\''hi'\\'' $HOME'`
 */
export function shellQuote(argv: readonly string[]): string {
  return argv.map((w, i) => shellQuoteWord(w, i === 0)).join(' ');
}
