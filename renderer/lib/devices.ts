// The plugged HSM tokens `devices.list` answers. The contract types that answer as `unknown` (its shape
// is main/devices' summary), so the console reads it defensively: only the fields it shows, each
// checked, and a listing it cannot read shows as a problem rather than as nothing plugged in.

export interface PluggedToken {
  id: string;
  name: string;
  vidPid: string;
  serialNumber: string | null;
  port: string | null;
  modules: { file: string; path: string; package: string }[];
  note: string | null;
}

export interface DeviceListing {
  checkedAt: string | null;
  tokens: PluggedToken[];
  otherDevices: number;
  problems: string[];
  emptyReason: string | null;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const obj = (v: unknown): Record<string, unknown> => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export function readDeviceListing(raw: unknown): DeviceListing {
  const o = obj(raw);
  if (!Array.isArray(o.tokens)) {
    return { checkedAt: null, tokens: [], otherDevices: 0, problems: ['The appliance answered devices.list in a shape this console does not know.'], emptyReason: null };
  }
  return {
    checkedAt: str(o.checkedAt),
    tokens: arr(o.tokens).map((t, i) => {
      const d = obj(t);
      return {
        id: str(d.id) ?? `device-${i}`,
        name: str(d.name) ?? 'unknown device',
        vidPid: str(d.vidPid) ?? '',
        serialNumber: str(d.serialNumber),
        port: str(d.port),
        modules: arr(d.modules).map((m) => {
          const x = obj(m);
          return { file: str(x.file) ?? '', path: str(x.path) ?? '', package: str(x.package) ?? '' };
        }),
        note: str(d.note),
      };
    }),
    otherDevices: typeof o.otherDevices === 'number' ? o.otherDevices : 0,
    problems: arr(o.problems).map((p) => str(obj(p).message) ?? 'a problem listing devices'),
    emptyReason: str(o.emptyReason),
  };
}
