// The page, its words and DOM helpers: messages from #messages, el(), swap().

export const MESSAGES = JSON.parse(document.getElementById('messages').textContent);
export const LANG = document.body.dataset.lang;
export const PAGE = document.body.dataset.page;
export const $ = (id) => document.getElementById(id);

// --- Helpers -----------------------------------------------------------------------------

export function t(id, vars) {
  let text = MESSAGES[id] || id;
  for (const [k, v] of Object.entries(vars || {})) text = text.split('{' + k + '}').join(String(v));
  return text;
}

// Set as DOM properties; every other attribute goes through setAttribute.
export const PROPERTIES = new Set(['value', 'disabled', 'selected', 'checked', 'readOnly', 'required', 'spellcheck']);

// el('button', {type: 'button', onclick: f}, 'text', child, ...)
export function el(tag, attrs, ...children) {
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
export const time = (ts) => (ts ? new Date(ts).toLocaleTimeString(LANG, { hour: '2-digit', minute: '2-digit' }) : '');

// Run `f` once, shortly after the last of a burst of calls.
export function debounce(f, ms) {
  let timer = null;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(f, ms);
  };
}

// Replace an element, keeping keyboard focus on the same control when it was inside.
export function swap(old, fresh) {
  const focused = old.contains(document.activeElement) && document.activeElement.dataset.action;
  old.replaceWith(fresh);
  if (focused) {
    const again = fresh.querySelector('[data-action="' + focused + '"]');
    if (again) again.focus();
  }
}
