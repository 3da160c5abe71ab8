// Example JavaScript handler: FUNCTION_PATH=/path/busy-threads.mjs.
// Same contract as the Python ones: handler(input, context), context.env
// persists per input key, a falsy result writes nothing.
export function handler(input, context) {
  const total = input['app-total_threads'];
  const active = input['app-active_threads'];
  if (typeof total !== 'number' || total <= 0 || typeof active !== 'number') return null;
  const history = (context.env.busy ??= []);
  history.push(active / total);
  if (history.length > 12) history.shift(); // 60 s at the default 5 s period
  return {
    pod: input.pod,
    busy_threads_percent: (active / total) * 100,
    busy_threads_percent_avg: (history.reduce((a, b) => a + b, 0) / history.length) * 100,
  };
}
