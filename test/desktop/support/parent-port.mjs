// Preloaded (node --import) into a host process that test/desktop/support/fake-utility-process.ts
// starts: gives it Electron's utility-process end of the channel, process.parentPort, with Electron's
// structured clone, under which a Buffer arrives as a plain Uint8Array.
const plain = (value) => {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
};

process.parentPort = {
  on(event, listener) {
    if (event === 'message') process.on('message', (data) => listener({ data }));
  },
  postMessage(message) {
    process.send(plain(message));
  },
};
