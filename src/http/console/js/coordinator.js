// The coordinator's page.

import { api, token } from './api.js';
import { $, debounce, el, LANG, t, time } from './dom.js';

export function coordinatorPage() {
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
      : a.kind === 'demand_exceeds_roster'
        ? t('console-js-alert-overload', { language: name, waiting: a.waiting, arrivals: a.arrivals_per_hour, served: a.connections_per_hour })
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
      api('GET', '/requests?state=queued,offered&limit=1000'),
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
