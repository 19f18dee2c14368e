// The console's entry: picks the transport (desktop IPC or HTTP), keeps an HTTP session token in this
// tab's sessionStorage (so a reload stays signed in; never localStorage, which outlives the tab), and
// mounts the app with Pinia.
import { createPinia } from 'pinia';
import { createApp } from 'vue';
import App from './App.vue';
import { chooseClient, provideClient } from './client/index.js';
import type { TokenKeeper } from './client/http.js';
import './styles/console.css';

const TOKEN_KEY = 'kura.console.session';

const tabTokens: TokenKeeper = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (t) => sessionStorage.setItem(TOKEN_KEY, t),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

const app = createApp(App);
provideClient(app, chooseClient(tabTokens));
app.use(createPinia());
app.mount('#app');
