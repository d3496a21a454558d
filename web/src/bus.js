// A tiny event bus: emit(topic, payload), on(topic, fn) → unsubscribe.
const topics = new Map();

export function on(topic, fn) {
  if (!topics.has(topic)) topics.set(topic, new Set());
  topics.get(topic).add(fn);
  return () => topics.get(topic)?.delete(fn);
}

export function emit(topic, payload) {
  for (const fn of [...(topics.get(topic) || [])]) {
    try { fn(payload); } catch (e) { console.error(`[${topic}]`, e); }
  }
}
