// Test doubles for the console's component tests: a fake ConsoleClient that answers each command from a
// handler the test gives (recording every call, refusing a command it has no handler for), and mounting
// a component with a fresh Pinia and that client provided, as main.ts provides the real one; and a check
// that every interactive element is a real control with a name.
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { expect, vi } from 'vitest';
import { createPinia, type Pinia } from 'pinia';
import type { Component } from 'vue';
import { CLIENT } from '../../renderer/client/index.js';
import { CommandError, type CommandInput, type CommandName, type CommandOutput, type ConsoleClient } from '../../renderer/client/types.js';

export type Handlers = { [C in CommandName]?: (input: CommandInput<C>) => CommandOutput<C> | Promise<CommandOutput<C>> };

export interface FakeClient extends ConsoleClient {
  calls: { command: CommandName; input: unknown }[];
  handlers: Handlers;
  /** The inputs of every call of one command. */
  inputsOf<C extends CommandName>(command: C): CommandInput<C>[];
}

export function fakeClient(handlers: Handlers = {}): FakeClient {
  const calls: FakeClient['calls'] = [];
  const client: FakeClient = {
    transport: 'http',
    calls,
    handlers,
    async run<C extends CommandName>(command: C, input: CommandInput<C>): Promise<CommandOutput<C>> {
      calls.push({ command, input });
      const h = client.handlers[command] as ((i: CommandInput<C>) => CommandOutput<C> | Promise<CommandOutput<C>>) | undefined;
      if (!h) throw new CommandError('UnknownOperation', `The fake appliance has no ${command}.`, 404);
      return h(input);
    },
    hasSession: () => true,
    forgetSession: () => undefined,
    inputsOf: <C extends CommandName>(command: C) => calls.filter((c) => c.command === command).map((c) => c.input as CommandInput<C>),
  };
  return client;
}

/** A command error as the appliance sends one, for a handler to throw. */
export const refuse = (code: string, message: string, status = 400): never => {
  throw new CommandError(code, message, status);
};

/** Mounts `component` with `client`, and a fresh Pinia unless the test passes the one a previous mount used. */
export function mountWith(component: Component, client: ConsoleClient, props: Record<string, unknown> = {}, pinia: Pinia = createPinia()) {
  return mount(component, { props, global: { plugins: [pinia], provide: { [CLIENT as symbol]: client } }, attachTo: 'body' });
}

/** The value of a form control (typed without the DOM, which the repository's own type check lacks). */
export const valueOf = (control: { element: object }): string => (control.element as { value: string }).value;

/** Chooses `file` in an <input type=file> and fires its change event. */
export async function chooseFile(input: { element: object; trigger(event: string): Promise<void> }, file: File): Promise<void> {
  Object.defineProperty(input.element, 'files', { value: [file], configurable: true });
  await input.trigger('change');
}

/**
 * Waits until the component has settled: promises flushed and nothing marked aria-busy (WebCrypto's
 * digest and sign answer from Node's thread pool, later than a microtask flush).
 */
export async function settle(w: VueWrapper): Promise<void> {
  await flushPromises();
  await vi.waitFor(() => expect(w.find('[aria-busy="true"]').exists()).toBe(false), { timeout: 5_000, interval: 5 });
  await flushPromises();
}

/** The little of a DOM element these checks read (the repository's own type check has no DOM types). */
export interface El {
  tagName: string;
  id: string;
  outerHTML: string;
  textContent: string | null;
  getAttribute(name: string): string | null;
  hasAttribute(name: string): boolean;
  closest(selector: string): El | null;
  querySelector(selector: string): El | null;
  querySelectorAll(selector: string): Iterable<El>;
  ownerDocument: { getElementById(id: string): El | null; querySelector(selector: string): El | null };
}

/** The page's document, as these tests read it. */
export const doc = (): { activeElement: El | null; body: El; querySelector(selector: string): El | null; querySelectorAll(selector: string): Iterable<El> } =>
  (globalThis as unknown as { document: ReturnType<typeof doc> }).document;

/** What a control is called for assistive technology (a simplification of accessible-name computation). */
function accessibleName(el: El): string {
  const aria = el.getAttribute('aria-label');
  if (aria?.trim()) return aria.trim();
  const by = el.getAttribute('aria-labelledby');
  if (by) return by.split(/\s+/).map((id) => el.ownerDocument.getElementById(id)?.textContent ?? '').join(' ').trim();
  if (['INPUT', 'SELECT', 'TEXTAREA'].includes(el.tagName)) {
    const forIt = el.id ? el.ownerDocument.querySelector(`label[for="${el.id}"]`) : null;
    return (forIt ?? el.closest('label'))?.textContent?.trim() ?? '';
  }
  return el.textContent?.trim() ?? '';
}

/**
 * The interactive elements of `w` that are not a real, named control: a button, link (with an href),
 * input, select, textarea or summary without an accessible name, and anything else made interactive by
 * hand (a role of button or link, a tabindex that puts it in the tab order). Empty when all is well.
 */
export function unnamedControls(w: VueWrapper): string[] {
  const root = w.element as unknown as El;
  const bad: string[] = [];
  const describe = (el: El) => el.outerHTML.slice(0, 120);
  for (const el of root.querySelectorAll('button, a, input, select, textarea, summary')) {
    if (el.tagName === 'INPUT' && el.getAttribute('type') === 'hidden') continue;
    if (el.tagName === 'A' && !el.hasAttribute('href')) bad.push(`a link without an href: ${describe(el)}`);
    else if (accessibleName(el) === '') bad.push(`no name: ${describe(el)}`);
  }
  for (const el of root.querySelectorAll('[role="button"], [role="link"], [tabindex]:not([tabindex="-1"])')) {
    if (!['BUTTON', 'A', 'INPUT', 'SELECT', 'TEXTAREA', 'SUMMARY'].includes(el.tagName)) bad.push(`not a real control: ${describe(el)}`);
  }
  return bad;
}
