// Where keyboard focus goes when the screen changes under it: to the new screen's heading (its <h1>, or a
// ceremony step's <h2>), made focusable with tabindex="-1" if it is not already, so a screen reader
// reads the new screen from its top and Tab goes on from there — instead of focus falling back to the
// page's start when the control that had it (a link, a Next button) disappears.

/** Focuses the first `selector` heading inside `within`; false when there is none. */
export function focusHeading(within: ParentNode | null | undefined, selector = 'h1'): boolean {
  const heading = within?.querySelector<HTMLElement>(selector);
  if (!heading) return false;
  if (!heading.hasAttribute('tabindex')) heading.setAttribute('tabindex', '-1');
  heading.focus();
  return true;
}

/**
 * Whether keyboard focus has nowhere useful to be: on <body> (the focused control was removed) or on a
 * control that has just been disabled (Chromium leaves focus there, but Tab then starts over from the
 * page's top in some browsers, and a screen reader reads a dead control).
 */
export function focusLost(): boolean {
  const el = document.activeElement;
  return el === null || el === document.body || (el as HTMLButtonElement).disabled === true;
}
