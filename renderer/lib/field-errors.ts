// A refused form's error tied to the field it is about, the same way in every form (WCAG 3.3.1): the
// field is marked aria-invalid and described by the error (aria-describedby, after any hint it already
// had), and after a failed submission focus goes to that field — else, when the button pressed left
// focus nowhere, to the error itself. Which field: the one the appliance's message names (the contract's
// Validation errors quote the input field, `Creating a credential: "accountId" is 12 digits.`), else the
// one its words name (`words`: a domain rule's message, "A threshold of 3 needs…"), else the form's `fallback`, the control an error that names no field is about (a sign-in's passphrase); with
// neither, the error stands for the whole form and no field is marked.
//
// One task's error may serve several forms on a screen (the operators screen's enrol, passphrase and
// policy forms all run the admin store's change), so each submission says which form made it (`submit`);
// a change no form made (a row's Remove) passes null, and its error is `unclaimed`, for the screen's own
// notice. A ceremony, whose step is the form, passes the step as `owner` and its frame's error id. A
// screen that passes its root as `outcome` has focus go, after a submission that succeeded but left
// focus nowhere (its button disabled while the call ran, or gone), to what it did (focusOutcome).
import { focusOutcome } from './confirm.js';
import { computed, nextTick, ref, type Ref } from 'vue';
import { focusHeading, focusLost } from './focus.js';

export interface FormFields {
  /** The command's input field → the id of the control that gives it. */
  fields: Record<string, string>;
  /** Words in a message that say which control it is about, tried when it quotes no field. */
  words?: readonly (readonly [RegExp, string])[];
  /** The control an error that names no field is about. */
  fallback?: string;
}

/** The attributes a control takes (v-bind): invalid and described by the error when it is about it, its own hint kept. */
export interface FieldAttrs {
  'aria-invalid': 'true' | undefined;
  'aria-describedby': string | undefined;
}

/** The id of the control `error` is about in `form`, or null. */
export function fieldOf(error: unknown, form: FormFields): string | null {
  if (error === null || error === undefined) return null;
  const message = error instanceof Error ? error.message : '';
  for (const [name, id] of Object.entries(form.fields)) if (message.includes(`"${name}"`)) return id;
  return form.words?.find(([words]) => words.test(message))?.[1] ?? form.fallback ?? null;
}

export function useFieldErrors<F extends string>(
  error: Ref<unknown>,
  forms: Record<F, FormFields>,
  options: { owner?: Ref<F | null>; errorId?: string; outcome?: Ref<HTMLElement | null> } = {},
) {
  const owner = options.owner ?? ref<F | null>(null);
  /** The id of the error notice `form` shows (ErrorNotice's id). */
  const errorId = (form: F): string => options.errorId ?? `${form}-error`;
  /** The error `form`'s last submission ended with, or null. */
  const errorOf = (form: F): unknown => (owner.value === form ? error.value : null);
  /** The error of a change no form here made, for the screen's own notice. */
  const unclaimed = computed(() => (owner.value === null ? error.value : null));
  const invalidIn = (form: F): string | null => fieldOf(errorOf(form), forms[form]);

  function field(form: F, id: string, hint?: string): FieldAttrs {
    const about = invalidIn(form) === id;
    const by = [about ? errorId(form) : '', hint ?? ''].filter((s) => s !== '').join(' ');
    return { 'aria-invalid': about ? 'true' : undefined, 'aria-describedby': by === '' ? undefined : by };
  }

  /** After `form` failed: focus on its invalid field, else on its error if focus was lost. */
  async function focusFailure(form: F): Promise<void> {
    await nextTick();
    const id = invalidIn(form);
    const control = id ? document.getElementById(id) : null;
    if (control) control.focus();
    else if (focusLost()) focusHeading(document, `[id="${errorId(form)}"]`);
  }

  /** Runs `form`'s submission (null: a change no form made); a failure takes focus to what is wrong. */
  async function submit<T>(form: F | null, run: () => Promise<T>): Promise<T> {
    owner.value = form;
    const out = await run();
    if (form !== null && error.value !== null && error.value !== undefined) await focusFailure(form);
    else if (options.outcome) await focusOutcome(options.outcome.value);
    return out;
  }

  return { errorId, errorOf, unclaimed, field, submit, focusFailure };
}
