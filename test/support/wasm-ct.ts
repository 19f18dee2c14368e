// A static secret-independence check ("constant-time" in the cryptographer's sense) for the
// WebAssembly AES-256 core, by taint analysis of the compiled module.
//
// What it proves, for the functions reachable from the given exports:
//   - no branch (`if`, `br_if`, `br_table`, `select`) has a condition computed from secret data,
//   - no memory access (load, store, memory.copy/fill, memory.grow) has an address or size computed
//     from secret data,
//   - no integer multiply, divide or remainder takes a secret operand, and no shift or rotate takes a
//     secret shift count (index.ts promises all three),
// except at the sites of an explicit, caller-supplied allowance list (declassified results; an
// allowance may also require that every path to its site went through an allowed branch first).
//
// The model. Secret ("tainted") are all values read from linear memory: memory holds the key slots,
// the scratch area and the I/O area, and treating every byte of it as secret over-approximates (the
// IV and AAD are public, but nothing needs to branch on them). Public are the exports' parameters
// (slot numbers, pointers, lengths), constants, and globals nobody stores a secret into. Taint
// flows through locals (flow-sensitively: binaryen reuses locals, so one local may hold a public
// counter in one place and a secret in another), through every arithmetic, comparison and SIMD
// operation, and through calls: each callee is analysed once per combination of tainted parameters,
// and its result is tainted if any returned value is. Loops are iterated to a fixed point.
// Implicit flows (a value assigned under a secret branch) need no modelling: every secret branch is
// itself reported unless allowed.
//
// What it does not prove:
//   - anything about the time the engine takes for one instruction (e.g. a CPU whose multiplier or
//     shifter is variable-time, or a JIT that compiles a `select` to a branch); it checks the
//     WebAssembly, not the machine code;
//   - anything about the JavaScript around the core (the loader), or about memory traffic the
//     engine adds (spills, bounds checks);
//   - anything about other instructions whose speed may vary with their operands on some machine:
//     floating point (the core has none), clz/ctz/popcnt; a secret index to i8x16.swizzle is
//     treated as data (a register shuffle, not a memory access);
//   - anything about functions the exports cannot reach.
// Traps need no separate check: bounds checks depend on addresses, which are public wherever the
// analysis passes, and a secret divisor is reported as a variable-time operand.
// It analyses the .wat listing the build writes in the same asc run as the .wasm (the listing keeps
// the names of functions and of inlined bodies, which the .wasm does not carry); the caller checks
// that the two describe the same module.
import binaryen from 'binaryen';

/** A reported site: where (innermost inlined source function, else the wasm function) and what. */
export interface CtFinding {
  /** Source function the instruction came from (innermost `__inlined_func$` block, else the wasm function). */
  where: string;
  /** The wasm function that contains it. */
  func: string;
  kind: CtKind;
  /** The secret operand (a branch's condition) or the instruction, printed and shortened. */
  text: string;
  /** The whole instruction, printed and shortened (for a branch: what it guards). */
  context: string;
  /** Whether every path to the site went through an allowed (declassifying) branch first. */
  afterCheck: boolean;
}

export type CtKind = 'if' | 'br_if' | 'br_table' | 'select' | 'address' | 'memory.copy' | 'memory.fill' | 'memory.grow' | 'call_indirect' | 'variable-time op';

/** A declassified site: the instruction is allowed in `where` when its printed form matches `text`. */
export interface CtAllowance {
  where: string;
  kinds: CtKind[];
  text: RegExp;
  /** How many distinct sites this allowance may cover (normally 1). */
  max: number;
  /**
   * Only where every path to the site passed one of the allowed branches of the same function first
   * (e.g. a length that becomes public once the integrity check has passed). Allowances with this
   * set do not themselves count as such a branch.
   */
  afterCheck?: boolean;
  reason: string;
}

export interface CtReport {
  /** Sites that no allowance covers. */
  findings: CtFinding[];
  /** Sites each allowance covered, in the order of the list. */
  allowed: { allowance: CtAllowance; sites: CtFinding[] }[];
  /** Wasm functions analysed (reachable from the exports). */
  functions: string[];
}

// Slot i < n: 1 when local i may hold a secret (joined with OR). Slot n: 1 when every path here went
// through an allowed branch (joined with AND). null: unreachable.
type State = Uint8Array | null;

function join(a: State, b: State): State {
  if (a === null) return b && b.slice();
  if (b === null) return a.slice();
  const out = a.slice();
  const last = out.length - 1;
  b.forEach((v, i) => { out[i] = i === last ? (out[i] ?? 0) & v : (out[i] ?? 0) | v; });
  return out;
}
/** Whether a adds nothing to b (a's taints are in b's, and b's "checked" holds in a). */
function leq(a: State, b: State): boolean {
  if (a === null) return true;
  if (b === null) return false;
  const last = a.length - 1;
  return a.every((v, i) => (i === last ? v >= (b[i] ?? 0) : v <= (b[i] ?? 0)));
}

const B = binaryen;
const shortName = (n: string): string => n.replace(/^native\/aes-gcm\/assembly\//, '');
const print = (e: number): string => {
  const s = B.emitText(e).replace(/\s+/g, ' ').trim();
  return s.length > 160 ? `${s.slice(0, 157)}...` : s;
};

// Integer ops whose operands must be public (variable time on some CPUs, and promised by index.ts).
const VARIABLE_TIME = new Set<number>([
  B.MulInt32, B.MulInt64, B.DivSInt32, B.DivUInt32, B.RemSInt32, B.RemUInt32, B.DivSInt64, B.DivUInt64, B.RemSInt64, B.RemUInt64,
]);
// Ops whose right operand is a shift count.
const SHIFTS = new Set<number>([
  B.ShlInt32, B.ShrSInt32, B.ShrUInt32, B.RotLInt32, B.RotRInt32, B.ShlInt64, B.ShrSInt64, B.ShrUInt64, B.RotLInt64, B.RotRInt64,
]);

/**
 * Whether the text module `wat` is the binary module `wasm`: binaryen's encoding of the parsed text,
 * without the names section, is byte for byte the .wasm file.
 */
export function watIsWasm(wat: string, wasm: Uint8Array): boolean {
  const mod = B.parseText(wat);
  const debugInfo = B.getDebugInfo();
  try {
    B.setDebugInfo(false);
    return Buffer.compare(Buffer.from(mod.emitBinary()), Buffer.from(wasm)) === 0;
  } finally {
    B.setDebugInfo(debugInfo);
    mod.dispose();
  }
}

/**
 * Analyses the module in `wat` from the exported functions named in `entries` (default: all of
 * them), with their parameters public, and returns what it found, split by `allowances`.
 */
export function analyseConstantTime(wat: string, allowances: CtAllowance[], entries?: string[]): CtReport {
  const mod = B.parseText(wat);
  try {
    const exported = new Map<string, string>();
    for (let i = 0; i < mod.getNumExports(); i++) {
      const info = B.getExportInfo(mod.getExportByIndex(i));
      if (info.kind === B.ExternalFunction) exported.set(info.name, info.value);
    }
    entries ??= [...exported.keys()];
    const taintedGlobals = new Set<string>();
    for (;;) {
      const run = new Analysis(mod, taintedGlobals, allowances);
      for (const name of entries) {
        const internal = exported.get(name);
        if (internal === undefined) throw new Error(`${name} is not an exported function of the module`);
        const info = B.getFunctionInfo(mod.getFunction(internal));
        run.summary(internal, B.expandType(info.params).map(() => 0));
      }
      if (run.globalsChanged) continue; // a global became secret: start over with it tainted
      return run.report();
    }
  } finally {
    mod.dispose();
  }
}

class Analysis {
  globalsChanged = false;
  private readonly sites = new Map<string, CtFinding>();
  private readonly summaries = new Map<string, boolean>();
  private readonly active = new Set<string>();
  private readonly functions = new Set<string>();

  constructor(
    private readonly mod: binaryen.Module,
    private readonly taintedGlobals: Set<string>,
    private readonly allowances: CtAllowance[],
  ) {}

  /** Whether a secret branch of this shape is an allowed (declassifying) one. */
  declassifies(where: string, kind: CtKind, text: string): boolean {
    return this.allowances.some((a) => !a.afterCheck && a.where === where && a.kinds.includes(kind) && a.text.test(text));
  }

  /** Whether `name` returns a secret when called with the given parameter taints. */
  summary(name: string, params: number[]): boolean {
    const key = `${name}(${params.join('')})`;
    const known = this.summaries.get(key);
    if (known !== undefined) return known;
    // Recursion (absent from the core): assume the worst about the result.
    if (this.active.has(key)) return true;
    this.active.add(key);
    this.functions.add(name);
    const info = B.getFunctionInfo(this.mod.getFunction(name));
    if (info.module) throw new Error(`the core calls the import ${info.module}.${info.base}; the analysis has no model of it`);
    const state = new Uint8Array(params.length + info.vars.length + 1);
    state.set(params);
    const fn = new FunctionAnalysis(this, shortName(name), state);
    const ret = fn.run(info.body);
    this.active.delete(key);
    this.summaries.set(key, ret);
    return ret;
  }

  isGlobalTainted(name: string): boolean {
    return this.taintedGlobals.has(name);
  }
  taintGlobal(name: string): void {
    if (!this.taintedGlobals.has(name)) {
      this.taintedGlobals.add(name);
      this.globalsChanged = true;
    }
  }

  flag(expr: number, finding: CtFinding): void {
    const key = `${expr}:${finding.kind}:${finding.text}`;
    const known = this.sites.get(key);
    if (!known || (known.afterCheck && !finding.afterCheck)) this.sites.set(key, finding);
  }

  report(): CtReport {
    const allowed = this.allowances.map((allowance) => ({ allowance, sites: [] as CtFinding[] }));
    const findings: CtFinding[] = [];
    for (const site of this.sites.values()) {
      const slot = allowed.find(({ allowance: a, sites }) =>
        a.where === site.where && a.kinds.includes(site.kind) && a.text.test(site.text) && sites.length < a.max &&
        (!a.afterCheck || site.afterCheck));
      if (slot) slot.sites.push(site);
      else findings.push(site);
    }
    return { findings, allowed, functions: [...this.functions].map(shortName).sort() };
  }
}

/** Abstract interpretation of one function body in evaluation order, over local taints. */
class FunctionAnalysis {
  private state: State;
  private ret = false;
  /** Per label: joined state of the branches to it, and whether a branch carries a secret value. */
  private readonly labels = new Map<string, { state: State; value: boolean }>();
  private readonly inlined: string[] = [];

  constructor(private readonly a: Analysis, private readonly func: string, entry: Uint8Array) {
    this.state = entry;
  }

  run(body: number): boolean {
    const t = this.ev(body);
    return this.ret || (this.state !== null && t);
  }

  private where(): string {
    return this.inlined.at(-1) ?? this.func;
  }

  private flag(expr: number, kind: CtKind, text: string): void {
    if (this.state === null) return; // dead code
    const afterCheck = this.state[this.state.length - 1] === 1;
    this.a.flag(expr, { where: this.where(), func: this.func, kind, text, context: print(expr), afterCheck });
  }

  /** A secret branch: report it, and if it is an allowed one, what follows it is "after the check". */
  private secretBranch(expr: number, kind: CtKind, condition: number): void {
    const text = print(condition);
    this.flag(expr, kind, text);
    if (this.state !== null && this.a.declassifies(this.where(), kind, text)) this.state[this.state.length - 1] = 1;
  }

  private restore(name: string, outer: { state: State; value: boolean } | undefined): void {
    if (outer) this.labels.set(name, outer);
    else this.labels.delete(name);
  }

  private branchTo(name: string, value: boolean): void {
    const l = this.labels.get(name);
    if (!l) throw new Error(`branch to unknown label ${name} in ${this.func}`);
    l.state = join(l.state, this.state);
    l.value ||= value;
  }

  /** Evaluates e from the current state; returns whether its value is secret. */
  private ev(e: number): boolean {
    if (!e) return false;
    // (getExpressionInfo has no case for some ids, `unreachable` among them.)
    switch (B.getExpressionId(e)) {
      case B.NopId:
      case B.ConstId:
      case B.MemorySizeId:
        return false;
      case B.UnreachableId:
        this.state = null;
        return false;
    }
    const info = B.getExpressionInfo(e);
    switch (info.id) {
      case B.BlockId: {
        const { name, children } = info as binaryen.BlockInfo;
        const m = name ? /^__inlined_func\$(.*?)(\$\d+)?$/.exec(name) : null;
        if (m) this.inlined.push(shortName(m[1] ?? name));
        if (!name) {
          let t = false;
          for (const c of children) t = this.ev(c);
          return t;
        }
        const outer = this.labels.get(name); // labels may shadow
        const l = { state: null as State, value: false };
        this.labels.set(name, l);
        let t = false;
        for (const c of children) t = this.ev(c);
        if (m) this.inlined.pop();
        this.restore(name, outer);
        const fell = this.state !== null && t;
        this.state = join(this.state, l.state);
        return fell || l.value;
      }
      case B.IfId: {
        const { condition, ifTrue, ifFalse } = info as binaryen.IfInfo;
        if (this.ev(condition)) this.secretBranch(e, 'if', condition);
        const before = this.state && this.state.slice();
        const tt = this.ev(ifTrue);
        const afterTrue = this.state;
        this.state = before;
        const tf = ifFalse ? this.ev(ifFalse) : false;
        const trueLive = afterTrue !== null;
        const falseLive = this.state !== null;
        this.state = join(afterTrue, this.state);
        return (trueLive && tt) || (falseLive && tf);
      }
      case B.LoopId: {
        const { name, body } = info as binaryen.LoopInfo;
        const outer = this.labels.get(name);
        let entry = this.state;
        for (;;) {
          const l = { state: null as State, value: false };
          this.labels.set(name, l);
          this.state = entry && entry.slice();
          const t = this.ev(body);
          const back = l.state;
          this.restore(name, outer);
          if (leq(back, entry)) return this.state !== null && t;
          entry = join(entry, back);
        }
      }
      case B.BreakId: {
        const { name, condition, value } = info as binaryen.BreakInfo;
        const v = this.ev(value);
        if (condition) {
          if (this.ev(condition)) this.secretBranch(e, 'br_if', condition);
          this.branchTo(name, v);
          return v;
        }
        this.branchTo(name, v);
        this.state = null;
        return false;
      }
      case B.SwitchId: {
        const { names, defaultName, condition, value } = info as binaryen.SwitchInfo;
        const v = this.ev(value);
        if (this.ev(condition)) this.flag(e, 'br_table', print(condition));
        for (const n of new Set([...names, ...(defaultName ? [defaultName] : [])])) this.branchTo(n, v);
        this.state = null;
        return false;
      }
      case B.CallId: {
        const { target, operands, isReturn } = info as binaryen.CallInfo;
        const args = operands.map((o) => (this.ev(o) ? 1 : 0));
        if (this.state === null) return false;
        const r = this.a.summary(target, args);
        if (isReturn) {
          this.ret ||= r;
          this.state = null;
          return false;
        }
        return r;
      }
      case B.CallIndirectId: {
        const { target, operands } = info as binaryen.CallIndirectInfo;
        for (const o of operands) this.ev(o);
        if (this.ev(target)) this.flag(e, 'call_indirect', print(target));
        throw new Error(`call_indirect in ${this.func}: the analysis cannot follow indirect calls`);
      }
      case B.LocalGetId: {
        const { index } = info as binaryen.LocalGetInfo;
        return this.state !== null && this.state[index] === 1;
      }
      case B.LocalSetId: {
        const { index, value, isTee } = info as binaryen.LocalSetInfo;
        const t = this.ev(value);
        if (this.state !== null) this.state[index] = t ? 1 : 0;
        return isTee && t;
      }
      case B.GlobalGetId:
        return this.a.isGlobalTainted((info as binaryen.GlobalGetInfo).name);
      case B.GlobalSetId: {
        const { name, value } = info as binaryen.GlobalSetInfo;
        if (this.ev(value)) this.a.taintGlobal(name);
        return false;
      }
      case B.LoadId:
      case B.SIMDLoadId: {
        const { ptr } = info as binaryen.LoadInfo;
        if (this.ev(ptr)) this.flag(e, 'address', print(e));
        return true; // memory is secret
      }
      case B.StoreId: {
        const { ptr, value } = info as binaryen.StoreInfo;
        if (this.ev(ptr)) this.flag(e, 'address', print(e));
        this.ev(value);
        return false;
      }
      case B.SIMDLoadStoreLaneId: {
        const { ptr, vec } = info as binaryen.SIMDLoadStoreLaneInfo;
        if (this.ev(ptr)) this.flag(e, 'address', print(e));
        this.ev(vec);
        return true;
      }
      case B.MemoryCopyId: {
        const { dest, source, size } = info as binaryen.MemoryCopyInfo;
        const secret = [this.ev(dest), this.ev(source), this.ev(size)];
        if (secret.some(Boolean)) this.flag(e, 'memory.copy', `${print(e)} [secret: ${['dest', 'source', 'size'].filter((_, i) => secret[i]).join(', ')}]`);
        return false;
      }
      case B.MemoryFillId: {
        const { dest, value, size } = info as binaryen.MemoryFillInfo;
        const d = this.ev(dest);
        this.ev(value);
        const s = this.ev(size);
        if (d || s) this.flag(e, 'memory.fill', `${print(e)} [secret: ${[d && 'dest', s && 'size'].filter(Boolean).join(', ')}]`);
        return false;
      }
      case B.MemoryGrowId:
        if (this.ev((info as binaryen.MemoryGrowInfo).delta)) this.flag(e, 'memory.grow', print(e));
        return false;
      case B.UnaryId:
        return this.ev((info as binaryen.UnaryInfo).value);
      case B.BinaryId: {
        const { op, left, right } = info as binaryen.BinaryInfo;
        const l = this.ev(left);
        const r = this.ev(right);
        if ((VARIABLE_TIME.has(op) && (l || r)) || (SHIFTS.has(op) && r)) this.flag(e, 'variable-time op', print(e));
        return l || r;
      }
      case B.SelectId: {
        const { ifTrue, ifFalse, condition } = info as binaryen.SelectInfo;
        const t = this.ev(ifTrue);
        const f = this.ev(ifFalse);
        if (this.ev(condition)) this.flag(e, 'select', print(condition));
        return t || f;
      }
      case B.DropId:
        this.ev((info as binaryen.DropInfo).value);
        return false;
      case B.ReturnId: {
        const v = this.ev((info as binaryen.ReturnInfo).value);
        if (this.state !== null) this.ret ||= v;
        this.state = null;
        return false;
      }
      case B.SIMDExtractId:
        return this.ev((info as binaryen.SIMDExtractInfo).vec);
      case B.SIMDReplaceId: {
        const { vec, value } = info as binaryen.SIMDReplaceInfo;
        const v = this.ev(vec);
        return this.ev(value) || v;
      }
      case B.SIMDShuffleId: {
        const { left, right } = info as binaryen.SIMDShuffleInfo;
        const l = this.ev(left);
        return this.ev(right) || l;
      }
      case B.SIMDTernaryId: {
        const { a, b, c } = info as binaryen.SIMDTernaryInfo;
        const ta = this.ev(a);
        const tb = this.ev(b);
        return this.ev(c) || ta || tb;
      }
      case B.SIMDShiftId: {
        const { vec, shift } = info as binaryen.SIMDShiftInfo;
        const v = this.ev(vec);
        const s = this.ev(shift);
        if (s) this.flag(e, 'variable-time op', print(e));
        return v || s;
      }
      default:
        // Anything else (atomics, tables, exceptions, GC, ...) is not expected in the core: refuse
        // rather than guess, so that a new kind of instruction gets a model before it gets a pass.
        throw new Error(`${this.func}: no taint model for expression id ${info.id}: ${print(e)}`);
    }
  }
}
