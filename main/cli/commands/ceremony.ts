// `kura ceremony transcript ID`: the transcript of an ended quorum action (issue 13; the document is
// ceremony/transcript.ts's), as JSON or as printable Markdown, on stdout or in a file. It comes from the
// running appliance (GET /admin/v1/approvals/ID/transcript, with the admin token); `kura audit verify
// --transcript F` checks the JSON form against the log later.
import path from 'node:path';
import { renderTranscriptMarkdown, type Transcript } from '../../ceremony/transcript.js';
import { adminClient } from '../locate.js';
import { writeOutFile } from '../out-file.js';
import { CliError, CLIENT_OPTIONS, HELP_OPTION, oneArgument, print, printJson, stringOption, type CommandSpec, type Invocation } from '../command.js';

async function transcript(inv: Invocation): Promise<number> {
  const id = oneArgument(inv, 'approval request ID (apr-…; see kura approvals list)');
  const format = stringOption(inv, 'format') ?? 'json';
  const out = stringOption(inv, 'out');
  const t = await adminClient(inv).call<Transcript>('GET', `/approvals/${encodeURIComponent(id)}/transcript`, undefined, true);
  const text = format === 'md' ? renderTranscriptMarkdown(t) : `${JSON.stringify(t, null, 2)}\n`;
  if (out === undefined) {
    // --json on its own asks for the document itself, compact.
    if (inv.json && format === 'json') printJson(t);
    else print(text);
    return 0;
  }
  try {
    // Never through a symbolic link someone else put there (out-file.ts).
    writeOutFile(out, text, 0o644);
  } catch (e) {
    throw new CliError('File', `Cannot write ${out} (${(e as NodeJS.ErrnoException).code ?? 'error'}).`);
  }
  const bytes = Buffer.byteLength(text);
  if (inv.json) printJson({ id, out: path.resolve(out), format, bytes, headAfter: t.audit.headAfter });
  else {
    print(`Wrote the ${format === 'md' ? 'Markdown' : 'JSON'} transcript of ${id} (${t.request.status}, ${t.audit.entries.length} audit entries, head after ${t.audit.headAfter}) to ${out}.`);
    if (format === 'json') print(`Check it against the log at any time: kura audit verify --transcript ${out}`);
  }
  return 0;
}

export const ceremony: CommandSpec = {
  name: 'ceremony',
  summary: 'transcripts of quorum ceremonies (transcript)',
  description: `A quorum action that has ended (executed, failed or cancelled) leaves a transcript: every step and
its time, the requester, each approval (operator, key fingerprint, signature), the parameters and their
digest, the identifiers of what it touched (never key material), the outcome, and the audit entries that
name it with the chain's head before and after. These commands need the admin token from the data
directory (or KURA_ADMIN_TOKEN) and a running appliance.`,
  options: [HELP_OPTION],
  subcommands: [
    {
      name: 'transcript',
      summary: 'the transcript of an ended approval request, as JSON or Markdown',
      args: 'ID',
      description: `Prints (or with --out writes) the transcript of approval request ID: JSON (format kura-transcript/v1),
which \`kura audit verify --transcript F\` checks against the audit log, or printable Markdown with the
same facts. A request still pending or running has none yet.`,
      options: [
        { name: 'format', value: 'FORMAT', choices: ['json', 'md'], help: 'json (the default; what kura audit verify --transcript reads) or md (printable Markdown)' },
        { name: 'out', value: 'F', help: 'write the transcript to this file instead of printing it', complete: 'file' },
        ...CLIENT_OPTIONS,
      ],
      run: transcript,
    },
  ],
};
