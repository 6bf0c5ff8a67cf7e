// puente consoles: one script for the sign-in, operator, interpreter and coordinator pages.
// No framework and nothing from outside puente. The token lives in this tab's
// sessionStorage and travels only in the Authorization header; every word comes from the
// Fluent messages the server put in #messages, or from the API's own localised text.
'use strict';

(() => {
  const MESSAGES = JSON.parse(document.getElementById('messages').textContent);
  const LANG = document.body.dataset.lang;
  const PAGE = document.body.dataset.page;
  const TOKEN_KEY = 'puente.token';
  const $ = (id) => document.getElementById(id);

  // --- Helpers -----------------------------------------------------------------------------

  function t(id, vars) {
    let text = MESSAGES[id] || id;
    for (const [k, v] of Object.entries(vars || {})) text = text.split('{' + k + '}').join(String(v));
    return text;
  }

  // Set as DOM properties; every other attribute goes through setAttribute.
  const PROPERTIES = new Set(['value', 'disabled', 'selected', 'checked', 'readOnly', 'required', 'spellcheck']);

  // el('button', {type: 'button', onclick: f}, 'text', child, ...)
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (k === 'class') e.className = v;
      else if (PROPERTIES.has(k)) e[k] = v;
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c !== undefined && c !== null && c !== false) e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const token = () => sessionStorage.getItem(TOKEN_KEY);
  const time = (ts) => (ts ? new Date(ts).toLocaleTimeString(LANG, { hour: '2-digit', minute: '2-digit' }) : '');

  function signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    location.replace('/');
  }

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.error && body.error.message) || t('console-js-error'));
      this.status = status;
      this.body = body;
      this.code = body && body.error && body.error.code;
    }
  }

  // Server time minus this device's time, when the device's clock is clearly off.
  let skew = 0;

  async function api(method, path, body, extra) {
    const headers = Object.assign({ Authorization: 'Bearer ' + token(), 'Accept-Language': LANG }, extra || {});
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch('/api/v1' + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
    const date = Date.parse(res.headers.get('Date') || '');
    if (!Number.isNaN(date)) {
      const d = date - Date.now();
      skew = Math.abs(d) > 2000 ? d : 0;
    }
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (_) {
      data = null;
    }
    if (res.status === 401 && PAGE !== 'signin') signOut();
    if (!res.ok) throw new ApiError(res.status, data);
    return data;
  }

  // Run `f` once, shortly after the last of a burst of calls.
  function debounce(f, ms) {
    let timer = null;
    return () => {
      clearTimeout(timer);
      timer = setTimeout(f, ms);
    };
  }

  // Replace an element, keeping keyboard focus on the same control when it was inside.
  function swap(old, fresh) {
    const focused = old.contains(document.activeElement) && document.activeElement.dataset.action;
    old.replaceWith(fresh);
    if (focused) {
      const again = fresh.querySelector('[data-action="' + focused + '"]');
      if (again) again.focus();
    }
  }

  // --- Chat: one conversation panel per chat request, kept across re-renders -----------------

  // The panel of request `id` (made once; moved, not rebuilt, when its card is redrawn, so a
  // half-written message survives). `canWrite` says whether the form is shown.
  function chatPanels() {
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

  // --- Live events: server-sent events read through fetch (EventSource cannot send a token) --

  function follow(handlers, resync) {
    const badge = $('connection');
    const show = (state) => {
      badge.hidden = false;
      badge.dataset.state = state;
      badge.textContent = t(state === 'live' ? 'console-js-live' : 'console-js-reconnecting');
    };
    let delay = 1000;
    (async () => {
      for (;;) {
        const abort = new AbortController();
        let watchdog = null;
        const alive = () => {
          clearTimeout(watchdog);
          // The server sends a keep-alive every 15 s: silence means the connection is gone.
          watchdog = setTimeout(() => abort.abort(), 40000);
        };
        try {
          const res = await fetch('/api/v1/events', {
            headers: { Authorization: 'Bearer ' + token(), 'Accept-Language': LANG, Accept: 'text/event-stream' },
            cache: 'no-store',
            signal: abort.signal,
          });
          if (res.status === 401) return signOut();
          if (!res.ok || !res.body) throw new Error('events: ' + res.status);
          alive();
          const reader = res.body.getReader();
          const decoder = new TextDecoder();
          let buffer = '';
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            alive();
            buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
            let end;
            while ((end = buffer.indexOf('\n\n')) >= 0) {
              const block = buffer.slice(0, end);
              buffer = buffer.slice(end + 2);
              let event = 'message';
              const data = [];
              for (const line of block.split('\n')) {
                if (line.startsWith(':')) continue;
                const colon = line.indexOf(':');
                const field = colon < 0 ? line : line.slice(0, colon);
                let v = colon < 0 ? '' : line.slice(colon + 1);
                if (v.startsWith(' ')) v = v.slice(1);
                if (field === 'event') event = v;
                else if (field === 'data') data.push(v);
              }
              if (data.length === 0) continue;
              let payload;
              try {
                payload = JSON.parse(data.join('\n'));
              } catch (_) {
                continue;
              }
              if (event === 'ready') {
                delay = 1000;
                show('live');
                // Whatever happened while we were away: read the state again.
                resync();
              } else if (event === 'lagged') {
                resync();
              } else if (handlers[event]) {
                handlers[event](payload);
              }
            }
          }
        } catch (_) {
          // Dropped, refused or timed out: retry below.
        } finally {
          clearTimeout(watchdog);
        }
        show('reconnecting');
        await sleep(delay + Math.random() * 300);
        delay = Math.min(delay * 2, 15000);
      }
    })();
  }

  // --- Sign-in -------------------------------------------------------------------------------

  async function signinPage() {
    const form = $('signin-form');
    const input = $('token');
    const error = $('signin-error');
    if (token()) {
      try {
        const me = await api('GET', '/me');
        return location.replace('/' + me.role);
      } catch (_) {
        sessionStorage.removeItem(TOKEN_KEY);
      }
    }
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      error.textContent = '';
      const value = input.value.trim();
      if (!value) {
        input.setAttribute('aria-invalid', 'true');
        input.focus();
        return;
      }
      sessionStorage.setItem(TOKEN_KEY, value);
      try {
        const me = await api('GET', '/me');
        location.assign('/' + me.role);
      } catch (e) {
        sessionStorage.removeItem(TOKEN_KEY);
        input.setAttribute('aria-invalid', 'true');
        error.textContent = e.message;
        input.focus();
      }
    });
    input.focus();
  }

  // --- Operator ------------------------------------------------------------------------------

  function operatorPage() {
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

    // Requests worth showing: everything still going on, and what ended in the last hour.
    async function refresh() {
      const { requests } = await api('GET', '/requests');
      const hour = Date.now() + skew - 3600 * 1000;
      const keep = requests.filter(
        (r) => ['queued', 'offered', 'connected'].includes(r.state) || shown.has(r.id) || Date.parse(r.updated_at) > hour,
      );
      for (const r of keep.slice(0, 100).reverse()) show(r);
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

  // --- Interpreter ---------------------------------------------------------------------------

  function interpreterPage(me) {
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

  // --- Coordinator ---------------------------------------------------------------------------

  function coordinatorPage() {
    const roster = new Map(); // id -> interpreter
    const form = $('interpreter-form');
    const formError = $('interpreter-error');
    const notice = $('roster-notice');
    const skills = $('skills');
    let editing = null; // id being edited, or null when adding
    let original = null; // the interpreter as it was when the edit began

    function statusText(i) {
      if (i.status === 'connected') return t('console-js-in-session');
      return t(i.availability === 'available' ? 'console-js-available' : 'console-js-offline');
    }

    function renderRoster() {
      const rows = [...roster.values()].sort((a, b) => a.id.localeCompare(b.id));
      $('roster').tBodies[0].replaceChildren(
        ...rows.map((i) => {
          const remove = el('button', { type: 'button', class: 'danger', 'data-action': 'remove' }, t('console-js-remove'));
          remove.addEventListener('click', () => removeInterpreter(i, remove));
          return el(
            'tr',
            { 'data-interpreter-id': i.id },
            el('td', {}, el('code', {}, i.id)),
            el('td', {}, i.name),
            el('td', {}, i.phone),
            el('td', {}, i.languages.map((l) => l.name + ' (' + l.tag + ') ' + l.proficiency).join(', ')),
            el('td', { 'data-field': 'status' }, statusText(i)),
            el(
              'td',
              {},
              el('div', { class: 'actions' },
                el('button', { type: 'button', 'data-action': 'edit', 'aria-label': t('console-js-edit-interpreter', { name: i.name }), onclick: () => edit(i) }, t('console-js-edit')),
                remove),
            ),
          );
        }),
      );
    }

    async function removeInterpreter(i, button) {
      if (!button.dataset.confirm) {
        button.dataset.confirm = 'yes';
        button.textContent = t('console-js-confirm-remove', { name: i.name });
        setTimeout(() => {
          if (button.isConnected) {
            delete button.dataset.confirm;
            button.textContent = t('console-js-remove');
          }
        }, 6000);
        return;
      }
      try {
        await api('DELETE', '/interpreters/' + encodeURIComponent(i.id));
        roster.delete(i.id);
        renderRoster();
        notice.textContent = t('console-js-removed', { name: i.name });
        refreshSoon();
      } catch (e) {
        notice.textContent = e.message;
      }
    }

    function addSkill(tag, proficiency) {
      const n = skills.children.length + 1;
      const select = el(
        'select',
        { name: 'proficiency' },
        [5, 4, 3, 2, 1].map((p) => el('option', { value: p, selected: p === (proficiency || 5) }, t('console-js-proficiency-' + p))),
      );
      const li = el(
        'li',
        { class: 'skill' },
        el('label', {}, t('console-js-language-n', { n }), el('input', { name: 'tag', list: 'tag-options', value: tag || '', autocomplete: 'off', spellcheck: false, required: true })),
        el('label', {}, t('console-js-proficiency-n', { n }), select),
        el('button', {
          type: 'button',
          'aria-label': t('console-js-remove-language', { n }),
          onclick: () => {
            if (skills.children.length > 1) li.remove();
          },
        }, '✕'),
      );
      skills.append(li);
      return li;
    }
    $('add-skill').addEventListener('click', () => addSkill().querySelector('input').focus());

    function resetForm() {
      editing = null;
      original = null;
      form.reset();
      skills.replaceChildren();
      addSkill();
      $('it-id').readOnly = false;
      $('form-title').textContent = $('form-title').dataset.add;
      $('cancel-edit').hidden = true;
      formError.textContent = '';
      for (const f of form.querySelectorAll('[aria-invalid]')) f.removeAttribute('aria-invalid');
    }

    function edit(i) {
      resetForm();
      editing = i.id;
      original = i;
      $('it-id').value = i.id;
      $('it-id').readOnly = true;
      $('it-name').value = i.name;
      $('it-phone').value = i.phone;
      skills.replaceChildren();
      for (const l of i.languages) addSkill(l.tag, l.proficiency);
      $('form-title').textContent = t('console-js-edit-interpreter', { name: i.name });
      $('cancel-edit').hidden = false;
      $('it-name').focus();
    }
    $('cancel-edit').addEventListener('click', resetForm);

    // Point at the field the API names (`name`, `languages[1].tag`, ...).
    function markField(field) {
      let target = null;
      const m = /^languages\[(\d+)\]\.(tag|proficiency)$/.exec(field || '');
      if (m) {
        const row = skills.children[Number(m[1])];
        target = row && row.querySelector(m[2] === 'tag' ? 'input' : 'select');
      } else if (field === 'languages') {
        target = skills.querySelector('input');
      } else if (field) {
        target = form.querySelector('[name="' + field + '"]');
      }
      if (target) {
        target.setAttribute('aria-invalid', 'true');
        target.focus();
      }
    }

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      formError.textContent = '';
      $('new-token').hidden = true;
      for (const f of form.querySelectorAll('[aria-invalid]')) f.removeAttribute('aria-invalid');
      const body = {
        id: $('it-id').value.trim(),
        name: $('it-name').value.trim(),
        phone: $('it-phone').value.trim(),
        languages: [...skills.children].map((li) => ({
          tag: li.querySelector('input').value.trim(),
          proficiency: Number(li.querySelector('select').value),
        })),
      };
      try {
        if (editing) {
          // Only what the coordinator changed, as a merge patch from the revision the
          // form was filled from: whatever the form does not show (certifications, the
          // on-call schedule) stays, and an edit made meanwhile by someone else is not
          // overwritten (412, reload).
          const patch = changes(original, body);
          const path = '/interpreters/' + encodeURIComponent(editing);
          const i = Object.keys(patch).length
            ? await api('PATCH', path, patch, { 'If-Match': '"' + original.revision + '"' })
            : original;
          roster.set(i.id, i);
          notice.textContent = t('console-js-saved', { name: i.name });
        } else {
          const i = await api('POST', '/interpreters', body);
          roster.set(i.id, i);
          const box = $('new-token');
          box.replaceChildren(el('p', {}, t('console-js-token-once', { name: i.name })), el('code', { 'data-field': 'token' }, i.token));
          box.hidden = false;
        }
        renderRoster();
        resetForm();
        refreshSoon();
      } catch (e) {
        formError.textContent = e.message;
        markField(e.body && e.body.error && e.body.error.field);
        if (e.body && e.body.error && e.body.error.code === 'stale_profile') refreshSoon();
      }
    });

    // The fields of the form that differ from `before`; a language list that changed is
    // sent whole, each language keeping the certification it had.
    function changes(before, body) {
      const patch = {};
      if (body.name !== before.name) patch.name = body.name;
      if (body.phone !== before.phone) patch.phone = body.phone;
      const same =
        body.languages.length === before.languages.length &&
        body.languages.every((l, n) => l.tag === before.languages[n].tag && l.proficiency === before.languages[n].proficiency);
      if (!same) {
        patch.languages = body.languages.map((l) => {
          const had = before.languages.find((b) => b.tag === l.tag);
          return had && had.certification ? Object.assign({ certification: had.certification }, l) : l;
        });
      }
      return patch;
    }

    function renderQueue(requests) {
      const waiting = requests.filter((r) => r.state === 'queued' || r.state === 'offered').reverse();
      $('queue').tBodies[0].replaceChildren(
        ...waiting.map((r) =>
          el(
            'tr',
            { 'data-request-id': r.id },
            el('td', {}, r.language.name + ' (' + r.language.tag + ')'),
            el('td', {}, t(r.priority === 'urgent' ? 'console-js-urgent' : 'console-js-normal')),
            el('td', {}, t('console-js-state-' + r.state)),
            el('td', {}, time(r.created_at)),
          ),
        ),
      );
      $('no-queue').hidden = waiting.length > 0;
    }

    function wait(secs) {
      if (secs === null || secs === undefined) return '—';
      return secs < 120 ? secs + ' s' : t('console-js-minutes', { n: Math.round(secs / 60) });
    }

    function renderCoverage(lines) {
      const num = (v) => el('td', { class: 'num' }, v);
      $('coverage').tBodies[0].replaceChildren(
        ...lines.map((l) =>
          el(
            'tr',
            { 'data-language': l.language.tag, class: l.uncovered ? 'uncovered' : '' },
            el('th', { scope: 'row' }, l.language.name + ' (' + l.language.tag + ') ', l.uncovered && el('span', { class: 'badge' }, t('console-js-nobody-on-call'))),
            num(l.registered),
            num(l.on_call),
            num(l.available),
            num(l.waiting),
            num(l.last_7_days.total),
            num(l.last_7_days.unfilled),
            num(wait(l.last_7_days.median_wait_secs)),
          ),
        ),
      );
      $('no-coverage').hidden = lines.length > 0;
    }

    function when(ts, zone) {
      return new Date(ts).toLocaleString(LANG, { weekday: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: zone });
    }

    // The next 7 days, hour by hour: a row of squares per language (the picture), and in
    // words beside it how many hours nobody is on call, and the gaps listed below.
    function renderGrid(g) {
      const rows = g.languages.map((l) => {
        const empty = l.on_call.filter((n) => n === 0).length;
        const cells = el(
          'div',
          { class: 'cells', 'aria-hidden': 'true' },
          l.on_call.map((n, i) =>
            el('span', {
              'data-n': String(Math.min(n, 3)),
              class: (i % 24 === 0 ? 'day ' : '') + (l.demand_30_days > 0 ? 'demand' : ''),
              title: when(Date.parse(g.start) + i * 3600e3, g.time_zone) + ': ' + n,
            }),
          ),
        );
        const summary = l.demand_30_days > 0
          ? t('console-js-grid-summary', { n: empty, total: g.hours })
          : t('console-js-no-demand');
        return el(
          'div',
          { class: 'grid-row', 'data-language': l.language.tag },
          el('span', {}, l.language.name + ' (' + l.language.tag + ')'),
          cells,
          el('span', { class: 'summary' }, summary),
        );
      });
      $('grid').replaceChildren(...rows);
      $('gaps').replaceChildren(
        ...g.gaps.map((gap) =>
          el('li', { 'data-language': gap.language.tag }, t('console-js-gap', {
            language: gap.language.name,
            from: when(gap.from, g.time_zone),
            to: when(gap.to, g.time_zone),
            n: gap.hours,
          })),
        ),
      );
      $('no-gaps').hidden = g.gaps.length > 0;
    }

    function showAlert(a) {
      const name = (a.language && a.language.name) || (a.request && a.request.language.name) || '';
      const text = a.kind === 'coverage_gap'
        ? t('console-js-alert-gap', { language: name, from: when(a.from), to: when(a.to) })
        : t('console-js-alert-unfilled', { language: name });
      $('alerts').prepend(el('li', { 'data-kind': a.kind }, text));
      $('alerts-box').hidden = false;
    }

    async function loadTags() {
      const { results } = await api('GET', '/languages');
      $('tag-options').replaceChildren(...results.map((l) => el('option', { value: l.tag }, l.name)));
    }

    async function refresh() {
      const [its, reqs, cov, grid] = await Promise.all([
        api('GET', '/interpreters'),
        api('GET', '/requests'),
        api('GET', '/coverage'),
        api('GET', '/coverage/schedule?days=7'),
      ]);
      renderGrid(grid);
      roster.clear();
      for (const i of its.interpreters) roster.set(i.id, i);
      renderRoster();
      renderQueue(reqs.requests);
      renderCoverage(cov.languages);
    }
    const refreshSoon = debounce(() => refresh().catch(() => {}), 300);

    resetForm();
    loadTags().catch(() => {});
    return {
      refresh,
      handlers: {
        interpreter: (i) => {
          roster.set(i.id, i);
          renderRoster();
          refreshSoon();
        },
        request: refreshSoon,
        alert: showAlert,
        interpreter_removed: (x) => {
          roster.delete(x.id);
          renderRoster();
          refreshSoon();
        },
      },
    };
  }

  // --- Start -----------------------------------------------------------------------------------

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
})();
