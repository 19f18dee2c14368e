// The typed key model (DESIGN.md, "Layout": kms/model): the unions of key state, origin, spec and usage,
// the Key and Material the domain works with, the rules per state, and expiry of imported material.
export * from './key.js';
export * from './rules.js';
export * from './expiry.js';
