// The interpreter's page.

import { api, skew } from './api.js';
import { chatPanels } from './chat.js';
import { $, el, t, time } from './dom.js';

export function interpreterPage(me) {
  let it = me.interpreter;
  const id = it.id;
  const toggle = $('toggle');
  const offers = new Map(); // offer id -> offer
  let session = null;
  const error = $('action-error');
  const chats = chatPanels();

  function showStatus() {
    const available = it.availability === 'available';
    toggle.disabled = false;
    toggle.setAttribute('aria-pressed', String(available));
    $('toggle-state').textContent = t(available ? 'console-js-available' : 'console-js-offline');
    $('toggle-hint').textContent = t(available ? 'console-js-go-offline' : 'console-js-go-available');
  }

  toggle.addEventListener('click', async () => {
    const want = it.availability === 'available' ? 'offline' : 'available';
    toggle.disabled = true;
    error.textContent = '';
    try {
      it = await api('PUT', '/interpreters/' + encodeURIComponent(id) + '/availability', { status: want });
    } catch (e) {
      error.textContent = e.message;
    }
    showStatus();
  });

  function remaining(o) {
    return Math.max(0, Math.ceil((Date.parse(o.expires_at) - (Date.now() + skew)) / 1000));
  }

  async function answer(o, verb) {
    error.textContent = '';
    try {
      const r = await api('POST', '/offers/' + o.id + '/' + verb);
      offers.delete(o.id);
      if (verb === 'accept' && r && r.id) session = r;
    } catch (e) {
      error.textContent = e.message;
      offers.delete(o.id);
    }
    render();
    const next = document.querySelector('#offers button, #session button');
    if (next) next.focus();
  }

  function offerCard(o) {
    const left = remaining(o);
    return el(
      'li',
      { class: 'card offer', 'data-offer-id': o.id, 'data-urgent': String(o.priority === 'urgent') },
      el(
        'h3',
        {},
        o.language.name,
        el('span', { class: 'badge' + (o.priority === 'urgent' ? ' urgent' : '') }, t(o.priority === 'urgent' ? 'console-js-urgent' : 'console-js-normal')),
      ),
      el('p', {}, o.message),
      el('p', { class: 'countdown', 'data-field': 'countdown' }, left > 0 ? t('console-js-seconds-left', { seconds: left }) : t('console-js-expired')),
      el(
        'div',
        { class: 'actions' },
        el('button', { type: 'button', class: 'primary', 'data-action': 'accept', disabled: left === 0, onclick: () => answer(o, 'accept') }, t('console-js-accept')),
        el('button', { type: 'button', 'data-action': 'decline', onclick: () => answer(o, 'decline') }, t('console-js-decline')),
      ),
    );
  }

  function render() {
    const list = $('offers');
    const fresh = [...offers.values()].sort((a, b) => Date.parse(a.expires_at) - Date.parse(b.expires_at));
    // Keep the cards that are already there (and the focus in them); add and drop others.
    for (const li of [...list.children]) if (!offers.has(li.dataset.offerId)) li.remove();
    for (const o of fresh) {
      if (!list.querySelector('[data-offer-id="' + o.id + '"]')) list.append(offerCard(o));
    }
    $('no-offers').hidden = offers.size > 0;
    const box = $('session');
    const active = document.activeElement;
    box.replaceChildren();
    if (session) {
      box.append(
        el(
          'div',
          { class: 'card', 'data-request-id': session.id, 'data-state': session.state },
          el('h3', {}, session.language.name, el('span', { class: 'badge state-' + session.state }, t('console-js-state-' + session.state))),
          el('p', {}, session.message),
          el('p', {}, t('console-js-since', { time: time(session.connected_at) })),
          session.channel === 'chat' && chats.panel(session.id, session.state === 'connected'),
          session.state === 'connected' &&
            el(
              'div',
              { class: 'actions' },
              el('button', { type: 'button', class: 'primary', 'data-action': 'complete', onclick: complete }, t('console-js-complete')),
            ),
        ),
      );
    }
    $('no-session').hidden = Boolean(session);
    if (active && active !== document.activeElement && box.contains(active)) active.focus();
  }

  async function complete() {
    error.textContent = '';
    try {
      await api('POST', '/requests/' + session.id + '/complete');
      session = null;
    } catch (e) {
      error.textContent = e.message;
    }
    render();
    toggle.focus();
  }

  // The countdowns tick here; the server closes the offer itself when time is up.
  setInterval(() => {
    for (const li of $('offers').children) {
      const o = offers.get(li.dataset.offerId);
      if (!o) continue;
      const left = remaining(o);
      li.querySelector('[data-field="countdown"]').textContent =
        left > 0 ? t('console-js-seconds-left', { seconds: left }) : t('console-js-expired');
      li.querySelector('[data-action="accept"]').disabled = left === 0;
    }
  }, 1000);

  async function refresh() {
    const [mine, open] = await Promise.all([
      api('GET', '/interpreters/' + encodeURIComponent(id)),
      api('GET', '/interpreters/' + encodeURIComponent(id) + '/offers'),
    ]);
    it = mine;
    offers.clear();
    for (const o of open.offers) offers.set(o.id, o);
    session = it.session ? await api('GET', '/requests/' + it.session.request_id) : null;
    showStatus();
    render();
  }

  return {
    refresh,
    handlers: {
      offer: (o) => {
        if (o.state === 'open') {
          const fresh = !offers.has(o.id);
          offers.set(o.id, o);
          if (fresh && navigator.vibrate) navigator.vibrate([200, 100, 200]);
        } else {
          offers.delete(o.id);
        }
        render();
      },
      interpreter: (i) => {
        it = i;
        // Out of the session (completed, or the operator could not join the call).
        if (!i.session && session) {
          session = null;
          render();
        }
        showStatus();
      },
      request: (r) => {
        if (r.state === 'connected') session = r;
        else if (session && session.id === r.id) {
          session = null;
          chats.drop(r.id);
        }
        render();
      },
      message: chats.message,
    },
  };
}
