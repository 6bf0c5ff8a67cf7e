// Live events: server-sent events read through fetch (EventSource cannot send a token).

import { api, signOut, sleep, token } from './api.js';
import { $, LANG, t } from './dom.js';

export function follow(handlers, resync) {
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
