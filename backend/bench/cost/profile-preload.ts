/**
 * Loaded into a backend with NODE_OPTIONS=--import (where --cpu-prof is not
 * allowed): profiles its main thread from start to exit and writes
 * main.cpuprofile into COST_PROFILE_OUT. An in-thread inspector session
 * answers synchronously, so the 'exit' hook can stop and save the profile.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import inspector from 'node:inspector';
import path from 'node:path';

const out = process.env.COST_PROFILE_OUT;
if (out) {
  const session = new inspector.Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
  process.once('exit', () => {
    session.post('Profiler.stop', (err, result) => {
      if (err) return;
      mkdirSync(out, { recursive: true });
      writeFileSync(path.join(out, 'main.cpuprofile'), JSON.stringify(result.profile));
    });
  });
}
