// PM2 configuration for urltracker: one process, fork mode, never restarted
// into the same failure.
//
//   URLTRACKER_ADDR=:3000 pm2 start deploy/ecosystem.config.js
//
// Every URLTRACKER_* variable set where `pm2 start` runs is passed to the
// service; the defaults below apply otherwise (the service has its own
// defaults for the rest, such as the port). Put the urltracker binary beside
// this file or change `script`.
//
// Exit code 78 means "do not restart me": port in use, database held by
// another instance, invalid configuration. stop_exit_codes makes PM2 leave
// the app stopped, so two copies can never fight in a restart loop.

const defaults = {
  URLTRACKER_DATABASE_URL: 'sqlite:urltracker.db',
  URLTRACKER_LOG_LEVEL: 'info',
  URLTRACKER_DRAIN_DELAY: '5s',
  URLTRACKER_SHUTDOWN_TIMEOUT: '30s',
  URLTRACKER_MEMORY_LIMIT: '400MiB',
};

const fromCaller = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => name.startsWith('URLTRACKER_')),
);
const env = { ...defaults, ...fromCaller };

// milliseconds parses the Go durations used here (such as 5s, 1m30s, 500ms).
function milliseconds(duration, fallback) {
  const units = { h: 3600000, m: 60000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 };
  const parts = String(duration).match(/(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/g);
  if (!parts || parts.join('') !== String(duration)) return fallback;
  return parts.reduce((total, part) => {
    const [, n, unit] = part.match(/(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/);
    return total + Number(n) * units[unit];
  }, 0);
}

// PM2 sends SIGINT, waits kill_timeout, then SIGKILL: leave time for the
// drain, the graceful shutdown and a margin.
const killTimeout =
  milliseconds(env.URLTRACKER_DRAIN_DELAY, 5000) +
  milliseconds(env.URLTRACKER_SHUTDOWN_TIMEOUT, 30000) +
  10000;

module.exports = {
  apps: [
    {
      // URLTRACKER_PM2_NAME names a second app from the same file (another
      // instance on another host, or a test); the default is urltracker.
      name: process.env.URLTRACKER_PM2_NAME || 'urltracker',
      script: './urltracker',
      args: 'serve',
      interpreter: 'none',
      cwd: __dirname,
      exec_mode: 'fork',
      instances: 1,
      autorestart: true,
      max_restarts: 10,
      min_uptime: '10s',
      max_memory_restart: '500M',
      stop_exit_codes: [78],
      kill_timeout: killTimeout,
      // The service writes JSON lines to stdout; do not prefix them.
      time: false,
      merge_logs: true,
      env,
    },
  ],
};
