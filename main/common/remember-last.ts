// A one-argument pure function that keeps its last answer: for values that repeat back to back on a hot
// path (a request's signing date is the same for every request of that second).

/** `fn` with its last argument and answer kept; `fn` must be pure (its answer depends on the argument only). */
export function rememberLast<A, R>(fn: (arg: A) => R): (arg: A) => R {
  let last: { arg: A; answer: R } | undefined;
  return (arg: A): R => {
    if (last !== undefined && Object.is(last.arg, arg)) return last.answer;
    const answer = fn(arg);
    last = { arg, answer };
    return answer;
  };
}
