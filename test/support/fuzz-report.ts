// How a fuzz test collects what went wrong: failures grouped by kind (the first few examples of each,
// with the case that reproduces it), counts, the largest answer and the slowest, one failure message
// that names the seed, and one summary line per run ("[fuzz] {…}" on stdout, and appended as JSON to
// KURA_FUZZ_REPORT when scripts/fuzz.mjs asks for it).
import fs from 'node:fs';
import { showSeed } from './fuzz-rng.js';

export class Findings {
  readonly byKind = new Map<string, { count: number; examples: string[] }>();
  tried = 0;
  answered = 0;
  maxBytes = 0;
  maxMs = 0;
  /** The cases behind maxBytes and maxMs. */
  largest = '';
  slowest = '';
  /** Anything else worth a line in the report (deaths, restarts). */
  readonly notes: string[] = [];

  constructor(
    readonly name: string,
    readonly seed: number,
  ) {}

  /** One case done: its answer size and time, and each problem found (none when it passed). */
  note(example: string, answered: boolean, bytes: number, ms: number, problems: readonly string[]): void {
    this.tried++;
    if (answered) this.answered++;
    if (bytes > this.maxBytes) {
      this.maxBytes = bytes;
      this.largest = example.slice(0, 300);
    }
    if (ms > this.maxMs) {
      this.maxMs = ms;
      this.slowest = example.slice(0, 300);
    }
    for (const p of problems) this.add(p, example);
  }

  /** A problem; its kind is the text up to any " matched …" / ": keys …" / " = …" detail. */
  add(problem: string, example: string): void {
    const kind = problem.replace(/ matched .*/, '').replace(/: keys .*/, '').replace(/ = .*/, '').replace(/differs from __type .*/, 'differs from __type');
    const entry = this.byKind.get(kind) ?? { count: 0, examples: [] };
    entry.count++;
    if (entry.examples.length < 4) entry.examples.push(kind === problem ? example : `${example} [${problem}]`);
    this.byKind.set(kind, entry);
  }

  get failures(): number {
    return [...this.byKind.values()].reduce((n, e) => n + e.count, 0);
  }

  /** The failure message: '' when nothing failed, so that `expect(report()).toBe('')` shows it all. */
  report(): string {
    if (this.byKind.size === 0) return '';
    const lines = [...this.byKind.entries()]
      .sort((x, y) => y[1].count - x[1].count)
      .map(([kind, e]) => `  ${e.count} × ${kind}\n${e.examples.map((x) => `      e.g. ${x}`).join('\n')}`);
    const notes = this.notes.length === 0 ? '' : `\n  notes:\n${this.notes.map((n) => `    ${n}`).join('\n')}`;
    return `${this.name} ${showSeed(this.seed)} (rerun with KURA_FUZZ_SEED=${this.seed}): ${this.byKind.size} kinds of failure in ${this.tried} cases\n${lines.join('\n')}${notes}`;
  }

  /** Prints the run's summary line and appends it to KURA_FUZZ_REPORT if set. */
  summarize(extra: Record<string, unknown> = {}): void {
    const summary = { test: this.name, seed: this.seed, tried: this.tried, answered: this.answered, failures: this.failures, maxAnswerBytes: this.maxBytes, maxMs: this.maxMs, ...extra };
    console.log(`[fuzz] ${JSON.stringify(summary)}`);
    const file = process.env.KURA_FUZZ_REPORT;
    if (file) fs.appendFileSync(file, `${JSON.stringify({ ...summary, largest: this.largest, slowest: this.slowest, kinds: Object.fromEntries(this.byKind), notes: this.notes })}\n`);
  }
}
