// Chat: one conversation panel per chat request, kept across re-renders.

import { api } from './api.js';
import { el, t, time } from './dom.js';

// The panel of request `id` (made once; moved, not rebuilt, when its card is redrawn, so a
// half-written message survives). `canWrite` says whether the form is shown.
export function chatPanels() {
  const panels = new Map(); // request id -> {root, log, last, add}
  function panel(id, canWrite) {
    let p = panels.get(id);
    if (!p) {
      const log = el('ol', { class: 'chat-log', 'aria-live': 'polite', 'aria-label': t('console-js-chat') });
      const text = el('textarea', { rows: 2, 'data-action': 'chat-text', id: 'chat-' + id, maxlength: 4096 });
      const error = el('p', { class: 'error', role: 'alert' });
      const send = el('button', { type: 'submit', 'data-action': 'chat-send' }, t('console-js-chat-send'));
      const form = el(
        'form',
        { class: 'chat-form' },
        el('label', { for: 'chat-' + id }, t('console-js-chat-message')),
        text,
        el('div', { class: 'actions' }, send),
        error,
      );
      const root = el('section', { class: 'chat', 'data-chat-for': id }, el('h4', {}, t('console-js-chat')), log, form);
      p = { root, log, form, seen: new Set() };
      p.add = (m, undelivered) => {
        if (p.seen.has(m.seq)) return;
        p.seen.add(m.seq);
        const item = el(
          'li',
          { 'data-from': m.from, 'data-seq': m.seq },
          el('span', { class: 'who' }, t('console-js-from-' + m.from)),
          el('span', { class: 'text' }, m.text),
          el('time', { datetime: m.at }, time(m.at)),
          undelivered && el('span', { class: 'error' }, t('console-js-chat-not-delivered')),
        );
        // In order of their numbers, whatever order they arrive in.
        const after = [...log.children].find((li) => Number(li.dataset.seq) > m.seq);
        log.insertBefore(item, after || null);
        log.scrollTop = log.scrollHeight;
      };
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        error.textContent = '';
        if (!text.value.trim()) return;
        send.disabled = true;
        try {
          const m = await api('POST', '/requests/' + id + '/messages', { text: text.value });
          p.add(m, !m.delivered);
          text.value = '';
        } catch (e) {
          error.textContent = e.message;
        } finally {
          send.disabled = false;
          text.focus();
        }
      });
      panels.set(id, p);
      api('GET', '/requests/' + id + '/messages')
        .then((r) => r.messages.forEach((m) => p.add(m)))
        // A chat request made by hand, without WhatsApp: nothing to show.
        .catch((e) => {
          if (e.code === 'not_found') root.hidden = true;
        });
    }
    p.form.hidden = !canWrite;
    return p.root;
  }
  return {
    panel,
    message: (m) => {
      const p = panels.get(m.request);
      if (p) p.add(m);
    },
    drop: (id) => panels.delete(id),
  };
}
