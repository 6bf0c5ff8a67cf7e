// The operator's page.

import { api, skew } from './api.js';
import { chatPanels } from './chat.js';
import { $, debounce, el, swap, t, time } from './dom.js';

export function operatorPage() {
  const form = $('request-form');
  const input = $('language');
  const options = $('language-options');
  const match = $('language-match');
  const submit = $('request-submit');
  const formError = $('form-error');
  const cards = $('cards');
  const shown = new Map(); // request id -> <li>
  const picked = new Map(); // name shown in the suggestions -> tag
  const chats = chatPanels();

  async function suggest() {
    const q = input.value.trim();
    if (!q) {
      options.replaceChildren();
      match.textContent = '';
      return;
    }
    try {
      const r = await api('GET', '/languages?q=' + encodeURIComponent(q));
      const top = r.results.slice(0, 8);
      picked.clear();
      for (const l of top) picked.set(l.name, l.tag);
      options.replaceChildren(...top.map((l) => el('option', { value: l.name }, l.tag)));
      match.textContent = top.length
        ? t('console-js-resolves-to', { language: top[0].name, tag: top[0].tag })
        : t('console-js-no-match');
    } catch (_) {
      match.textContent = '';
    }
  }
  input.addEventListener('input', debounce(suggest, 150));

  function choices(list, onPick) {
    return el(
      'ul',
      { class: 'choice-list' },
      list.map((c) =>
        el('li', {}, el('button', { type: 'button', onclick: () => onPick(c) }, c.label)),
      ),
    );
  }

  $('detect').addEventListener('click', async () => {
    const out = $('detect-result');
    out.replaceChildren();
    try {
      const r = await api('POST', '/detect', { text: $('chat-text').value });
      const top = r.candidates[0];
      if (top && top.tag === 'spa' && r.language) {
        out.append(el('p', {}, t('console-js-no-interpreter-needed', { language: top.name })));
      }
      const list = r.candidates
        .filter((c) => c.tag !== 'spa')
        .slice(0, 4)
        .map((c) => ({
          tag: c.tag,
          label: t('console-js-use', { language: c.name || c.tag }) + ' · ' + Math.round(c.confidence * 100) + '%',
        }));
      out.append(
        el('p', {}, t('console-js-detected')),
        choices(list, (c) => {
          input.value = c.tag;
          suggest();
          input.focus();
        }),
      );
    } catch (e) {
      out.append(el('p', { class: 'error' }, e.message));
    }
  });

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    formError.textContent = '';
    $('candidates').replaceChildren();
    input.removeAttribute('aria-invalid');
    const data = new FormData(form);
    const typed = input.value.trim();
    const body = {
      language: picked.get(typed) || typed,
      priority: data.get('priority'),
      channel: data.get('channel'),
    };
    submit.disabled = true;
    try {
      const r = await api('POST', '/requests', body);
      show(r);
      form.reset();
      options.replaceChildren();
      match.textContent = '';
      $('detect-result').replaceChildren();
      input.focus();
    } catch (e) {
      formError.textContent = e.message;
      input.setAttribute('aria-invalid', 'true');
      const candidates = e.body && e.body.error && e.body.error.candidates;
      if (candidates && candidates.length) {
        const list = candidates.map((c) => ({ tag: c.tag, label: (c.name || c.tag) + ' (' + c.tag + ')' }));
        $('candidates').append(
          el('p', {}, t('console-js-choose')),
          choices(list, (c) => {
            input.value = c.tag;
            form.requestSubmit();
          }),
        );
      }
      input.focus();
    } finally {
      submit.disabled = false;
    }
  });

  async function act(r, action, body) {
    try {
      show(await api('POST', '/requests/' + r.id + '/' + action, body));
    } catch (e) {
      formError.textContent = e.message;
    }
  }

  function card(r) {
    const pending = r.state === 'queued' || r.state === 'offered';
    const facts = [];
    if (r.queue) {
      facts.push(el('dt', {}, t('console-js-position')), el('dd', { 'data-field': 'position' }, r.queue.position));
      facts.push(el('dt', {}, t('console-js-on-call')), el('dd', { 'data-field': 'on-call' }, r.queue.on_call));
      facts.push(el('dt', {}, t('console-js-wait')), el('dd', { 'data-field': 'wait' }, waitText(r.queue.estimated_wait_secs)));
    }
    if (r.routing) {
      facts.push(el('dt', {}, t('console-js-search')), el('dd', { 'data-field': 'reach' }, t('console-js-reach-' + r.routing.reach)));
    }
    if (r.interpreter) {
      facts.push(el('dt', {}, t('console-js-interpreter')), el('dd', { 'data-field': 'interpreter' }, r.interpreter.name));
    }
    return el(
      'li',
      { class: 'card', 'data-request-id': r.id, 'data-state': r.state, 'data-urgent': String(r.priority === 'urgent') },
      el(
        'h3',
        {},
        r.language.name,
        el('span', { class: 'badge state-' + r.state, 'data-field': 'state' }, t('console-js-state-' + r.state)),
        r.priority === 'urgent' && el('span', { class: 'badge urgent' }, t('console-js-urgent')),
      ),
      el('p', { class: 'status', 'data-field': 'message' }, r.message),
      facts.length > 0 && el('dl', {}, facts),
      el('p', { class: 'hint' }, t('console-js-since', { time: time(r.created_at) })),
      r.script && el('p', { class: 'script' }, el('strong', {}, t('console-js-script') + ': '), r.script),
      // A chat's conversation, read and written here.
      r.channel === 'chat' && chats.panel(r.id, !['completed', 'cancelled'].includes(r.state)),
      // Manual bridge: the operator dials the interpreter, joins the call, confirms.
      r.channel === 'phone' && r.state === 'connected' && !r.bridged_at && r.interpreter &&
        el('div', { class: 'bridge' },
          el('p', { 'data-field': 'bridge' }, t('console-js-bridge', { phone: r.interpreter.phone || '', name: r.interpreter.name })),
          el('div', { class: 'actions' },
            el('button', { type: 'button', class: 'primary', 'data-action': 'bridged', onclick: () => act(r, 'bridge', { outcome: 'connected' }) }, t('console-js-bridge-ok')),
            el('button', { type: 'button', class: 'danger', 'data-action': 'bridge-failed', onclick: () => act(r, 'bridge', { outcome: 'failed' }) }, t('console-js-bridge-failed')))),
      (pending || (r.state === 'connected' && (r.bridged_at || r.channel === 'chat'))) &&
        el(
          'div',
          { class: 'actions' },
          pending &&
            el('button', { type: 'button', class: 'danger', 'data-action': 'cancel', onclick: () => act(r, 'cancel') }, t('console-js-cancel')),
          r.state === 'connected' &&
            el('button', { type: 'button', 'data-action': 'complete', onclick: () => act(r, 'complete') }, t('console-js-complete')),
        ),
    );
  }

  // An estimate in words: honest about not knowing.
  function waitText(secs) {
    if (secs === null || secs === undefined) return t('console-js-wait-unknown');
    if (secs < 60) return t('console-js-wait-soon');
    return t('console-js-wait-minutes', { n: Math.round(secs / 60) });
  }

  function show(r) {
    const active = document.activeElement;
    const fresh = card(r);
    const old = shown.get(r.id);
    if (old) swap(old, fresh);
    else cards.prepend(fresh);
    // A chat panel moves into the fresh card: keep the writer's focus in it.
    if (active && active !== document.activeElement && fresh.contains(active)) active.focus();
    shown.set(r.id, fresh);
    $('no-requests').hidden = shown.size > 0;
  }

  // Requests worth showing: everything still going on, and what ended in the last hour
  // (of the latest hundred to end), each list one page of the listing.
  async function refresh() {
    const [going, ended] = await Promise.all([
      api('GET', '/requests?state=queued,offered,connected&limit=1000'),
      api('GET', '/requests?state=completed,cancelled,unfilled&limit=100'),
    ]);
    const hour = Date.now() + skew - 3600 * 1000;
    const keep = going.requests.slice(0, 100).concat(
      ended.requests.filter((r) => shown.has(r.id) || Date.parse(r.updated_at) > hour),
    );
    // Oldest first: each new card goes on top.
    keep.sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at));
    for (const r of keep) show(r);
    $('no-requests').hidden = shown.size > 0;
  }
  // One request's change moves the others' places in the queue: re-read them soon after.
  const refreshSoon = debounce(() => refresh().catch(() => {}), 300);

  // WhatsApp conversations nobody asked an interpreter for yet.
  const conversations = $('conversations');
  function conversationItem(c) {
    const input = el('input', { id: 'ask-' + c.id, autocomplete: 'off', spellcheck: false, 'data-action': 'ask-language' });
    const error = el('p', { class: 'error', role: 'alert' });
    const form = el(
      'form',
      { class: 'stack' },
      el('label', { for: 'ask-' + c.id }, t('console-js-ask-language')),
      input,
      el('div', { class: 'actions' }, el('button', { type: 'submit', 'data-action': 'ask' }, t('console-js-ask'))),
      error,
    );
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      error.textContent = '';
      try {
        const r = await api('POST', '/conversations/' + c.id + '/request', { language: input.value.trim() });
        li.remove();
        show(r);
        $('no-conversations').hidden = conversations.children.length > 0;
      } catch (e) {
        const candidates = e.body && e.body.error && e.body.error.candidates;
        error.textContent = e.message + (candidates ? ' ' + candidates.map((x) => x.name + ' (' + x.tag + ')').join(', ') : '');
        input.focus();
      }
    });
    const first = c.messages[0];
    const li = el(
      'li',
      { class: 'card', 'data-conversation-id': c.id },
      el('p', { class: 'hint' }, t('console-js-conversation-since', { time: time(first && first.at) })),
      chats.panel(c.id, true),
      form,
    );
    return li;
  }
  async function refreshConversations() {
    let list;
    try {
      list = (await api('GET', '/conversations')).conversations;
    } catch (e) {
      // Without WhatsApp there are none, and nowhere to show them.
      if (e.code === 'not_found') $('conversations-panel').hidden = true;
      return;
    }
    $('conversations-panel').hidden = false;
    const open = list.filter((c) => !c.request);
    const ids = new Set(open.map((c) => c.id));
    for (const li of [...conversations.children]) if (!ids.has(li.dataset.conversationId)) li.remove();
    for (const c of open.reverse()) {
      if (!conversations.querySelector('[data-conversation-id="' + c.id + '"]')) conversations.prepend(conversationItem(c));
    }
    $('no-conversations').hidden = conversations.children.length > 0;
  }
  const conversationsSoon = debounce(() => refreshConversations().catch(() => {}), 200);

  return {
    refresh: async () => {
      await refresh();
      await refreshConversations();
    },
    handlers: {
      request: (r) => {
        const waiting = conversations.querySelector('[data-conversation-id="' + r.id + '"]');
        if (waiting) waiting.remove();
        show(r);
        refreshSoon();
      },
      message: (m) => {
        chats.message(m);
        // A conversation this page does not show yet.
        if (!shown.has(m.request) && !conversations.querySelector('[data-conversation-id="' + m.request + '"]')) conversationsSoon();
      },
    },
  };
}
