// A ceremony transcript (`kura-transcript/v1`, main/ceremony/transcript.ts) as the console prints it. The
// contract types a transcript as a JSON object, so each field is read and checked here; a field missing
// or of another type shows as "—", never as a crash or raw JSON.

export interface ShownStep {
  step: string;
  at: string;
  who: string;
  details: string;
}

const o = (v: unknown): Record<string, unknown> => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const s = (v: unknown, dash = '—'): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : dash);
const sOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);

function stepOf(raw: unknown): ShownStep {
  const x = o(raw);
  const step = s(x.step);
  const who = s(x.operator ?? x.by, '');
  const details: string[] = [];
  if (typeof x.fingerprint === 'string') details.push(`key ${x.fingerprint}`);
  if (typeof x.operation === 'string') details.push(x.operation);
  if (typeof x.result === 'string') details.push(x.result);
  if (typeof x.errorCode === 'string') details.push(`refused: ${x.errorCode}`);
  if (typeof x.outcome === 'string') details.push(x.outcome);
  if (typeof x.keyId === 'string') details.push(`key ${x.keyId}`);
  if (typeof x.parametersDigest === 'string') details.push(`digest ${x.parametersDigest}`);
  return { step, at: s(x.at, ''), who, details: details.join('; ') };
}

export function readTranscript(raw: Record<string, unknown>) {
  const r = o(raw.request);
  const policy = o(raw.policy);
  const audit = o(raw.audit);
  return {
    format: s(raw.format),
    applianceId: s(raw.applianceId),
    generatedAt: s(raw.generatedAt, ''),
    request: {
      id: s(r.id),
      action: s(r.action),
      actionClass: s(r.actionClass),
      parameters: s(r.parameters),
      parametersDigest: s(r.parametersDigest),
      requester: s(r.requester),
      createdAt: s(r.createdAt, ''),
      executedAt: sOrNull(r.executedAt),
      status: s(r.status),
      outcome: sOrNull(r.outcome),
    },
    statement: s(raw.statement),
    policy: typeof policy.threshold === 'number' && Array.isArray(policy.operators) ? `${policy.threshold} of ${policy.operators.map(String).join(', ')}` : null,
    steps: Array.isArray(raw.steps) ? raw.steps.map(stepOf) : [],
    material: Array.isArray(raw.material) ? raw.material.map((m) => ({ name: s(o(m).name), value: s(o(m).value), from: s(o(m).from, '') })) : [],
    audit: { headBefore: s(audit.headBefore), headAfter: s(audit.headAfter), entries: Array.isArray(audit.entries) ? audit.entries.length : 0 },
  };
}

/** A transcript as the console prints it. */
export type ShownTranscript = ReturnType<typeof readTranscript>;
