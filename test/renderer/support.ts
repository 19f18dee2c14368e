// Test doubles for the console's component tests: a fake ConsoleClient that answers each command from a
// handler the test gives (recording every call, refusing a command it has no handler for), and mounting
// a component with a fresh Pinia and that client provided, as main.ts provides the real one.
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { expect, vi } from 'vitest';
import { createPinia } from 'pinia';
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

export function mountWith(component: Component, client: ConsoleClient, props: Record<string, unknown> = {}) {
  return mount(component, { props, global: { plugins: [createPinia()], provide: { [CLIENT as symbol]: client } }, attachTo: 'body' });
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
