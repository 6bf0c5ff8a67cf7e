// puente consoles: the entry point of every page (loaded as a module by layout.html).
// No framework and nothing from outside puente. The token lives in this tab's
// sessionStorage and travels only in the Authorization header; every word comes from the
// Fluent messages the server put in #messages, or from the API's own localised text.

import { api, signOut, token } from './api.js';
import { coordinatorPage } from './coordinator.js';
import { $, PAGE } from './dom.js';
import { follow } from './events.js';
import { interpreterPage } from './interpreter.js';
import { operatorPage } from './operator.js';
import { signinPage } from './signin.js';

async function start() {
  if (PAGE === 'signin') return signinPage();
  if (!token()) return location.replace('/');
  const signout = $('signout');
  signout.hidden = false;
  signout.addEventListener('click', signOut);
  let me;
  try {
    me = await api('GET', '/me');
  } catch (_) {
    return signOut();
  }
  if (me.role !== PAGE) return location.replace('/' + me.role);
  const page = { operator: operatorPage, interpreter: interpreterPage, coordinator: coordinatorPage }[PAGE](me);
  try {
    await page.refresh();
  } catch (_) {
    // The live stream's first event reads everything again.
  }
  follow(page.handlers, () => page.refresh().catch(() => {}));
}

start();
