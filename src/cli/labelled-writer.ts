import { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/** A line longer than this is cut and labelled in pieces (the buffer stays bounded). */
const MAX_LINE = 64 * 1024;

/**
 * Writes what it is given to `out` line by line, each line after `label` (`[node-1] `), so the
 * output of one command run on several nodes at once stays readable and attributable. A write
 * completes when `out` took its complete lines, so the session's credit window still paces the
 * remote command by the real terminal or pipe. A last line without a newline gets one at the end.
 */
export class LabelledWriter extends Writable {
  private partial = '';
  /** A character split across two frames is decoded whole. */
  private readonly decoder = new StringDecoder('utf8');

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly label: string,
  ) {
    super({ decodeStrings: false });
  }

  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: (e?: Error) => void): void {
    const text = this.partial + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    while (this.partial.length > MAX_LINE) {
      lines.push(this.partial.slice(0, MAX_LINE));
      this.partial = this.partial.slice(MAX_LINE);
    }
    if (lines.length === 0) return done();
    this.out.write(lines.map((l) => `${this.label}${l}\n`).join(''), (e) => done(e ?? undefined));
  }

  override _final(done: (e?: Error) => void): void {
    const rest = this.partial + this.decoder.end();
    if (rest === '') return done();
    const last = `${this.label}${rest}\n`;
    this.partial = '';
    this.out.write(last, (e) => done(e ?? undefined));
  }
}
