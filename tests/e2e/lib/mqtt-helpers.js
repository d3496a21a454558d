'use strict';
// A real mosquitto broker for the MQTT tests (Debian's mosquitto package), on a free port with
// persistence in a temporary directory, and publishing with the real mosquitto_pub.

const { spawn, execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const h = require('./harness');

const MOSQUITTO = process.env.MOSQUITTO_BIN || (fs.existsSync('/usr/sbin/mosquitto') ? '/usr/sbin/mosquitto' : 'mosquitto');

class Broker {
  constructor(port, dir) {
    this.port = port;
    this.dir = dir;
    this.conf = path.join(dir, 'mosquitto.conf');
    this.log = '';
    fs.writeFileSync(this.conf, [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence true',
      `persistence_location ${dir}/`,
      // Keep every QoS 1 message queued for maeuld's persistent session while it is away.
      'max_queued_messages 1000000',
      'max_inflight_messages 100',
      `user ${os.userInfo().username}`,
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      '',
    ].join('\n'));
  }

  // Starts mosquitto and resolves once it accepts TCP connections (polled with a deadline).
  async start() {
    const child = spawn(MOSQUITTO, ['-c', this.conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => { this.log += d; });
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    await h.pollUntil(() => new Promise((resolve) => {
      if (child.exitCode !== null) throw new Error(`mosquitto exited: ${this.log}`);
      const s = net.connect({ port: this.port, host: '127.0.0.1' });
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    }), { timeoutMs: 10000, what: `mosquitto listening on ${this.port}` });
    return this;
  }

  // SIGTERM: mosquitto saves its persistence file (sessions, queued messages) and exits.
  async stop() {
    if (!this.child || this.child.exitCode !== null) return;
    this.child.kill('SIGTERM');
    await h.withTimeout(this.exited, 10000, 'mosquitto did not exit after SIGTERM');
  }
}

async function startBroker() {
  const port = await h.closedPort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maeul-mosq-'));
  return new Broker(port, dir).start();
}

// One message with QoS 1 through mosquitto_pub (resolves when mosquitto_pub exits 0).
function publish(broker, topic, payload) {
  return new Promise((resolve, reject) => {
    execFile('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.port), '-q', '1', '-t', topic, '-m', payload],
      { timeout: 10000 }, (err, stdout, stderr) => (err ? reject(new Error(`mosquitto_pub: ${err.message} ${stderr}`)) : resolve()));
  });
}

// A long-running mosquitto_pub -l (one message a line, QoS 1) for streams of messages.
function publisher(broker, topic) {
  const child = spawn('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.port), '-q', '1', '-t', topic, '-l'],
    { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    send(line) { child.stdin.write(line + '\n'); },
    async end() {
      child.stdin.end();
      const code = await h.withTimeout(exited, 20000, 'mosquitto_pub -l did not exit');
      if (code !== 0) throw new Error(`mosquitto_pub -l exited ${code}: ${stderr}`);
    },
  };
}

module.exports = { Broker, startBroker, publish, publisher };
