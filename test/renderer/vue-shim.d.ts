// For the repository's own type check (tsconfig.json, which knows no .vue files): a component imported by
// these tests is a Vue component. renderer/tsconfig.json checks the components themselves with vue-tsc.
declare module '*.vue' {
  import type { DefineComponent } from 'vue';
  const component: DefineComponent<Record<string, unknown>, Record<string, unknown>, unknown>;
  export default component;
}
