'use strict';
// A throwaway PKI for the TLS tests, made with the openssl command at run time in a private temp
// directory (no key is ever committed): CAs, and leaf certificates they sign for the names asked.
// Plus a raw TLS probe (node:tls) that reports what a handshake negotiated or why it failed.

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tls = require('node:tls');

function openssl(args) {
  try {
    return execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(`openssl ${args.join(' ')} failed: ${e.stderr ? e.stderr.toString() : e.message}`);
  }
}

class TestPki {
  constructor(label = 'pki') {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `maeul-${label}-`));
    fs.chmodSync(this.dir, 0o700);
  }

  file(name) {
    return path.join(this.dir, name);
  }

  // A self-signed CA (EC P-256). Returns {cert, key} (paths) and {certPem} (Buffer).
  ca(name = 'ca', cn = 'Maeul Test CA') {
    const cert = this.file(`${name}.pem`);
    const key = this.file(`${name}.key`);
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${cn}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    return { name, cert, key, certPem: fs.readFileSync(cert) };
  }

  // A server certificate signed by `ca` for `sans` (openssl subjectAltName entries), with the serial
  // `serial` (hex digits). Returns {cert, key} (paths), {certPem, keyPem} (Buffers) and serial.
  leaf(ca, name, { serial, sans = ['IP:127.0.0.1', 'DNS:localhost'], cn = 'localhost' } = {}) {
    const cert = this.file(`${name}.pem`);
    const key = this.file(`${name}.key`);
    const csr = this.file(`${name}.csr`);
    const ext = this.file(`${name}.ext`);
    fs.writeFileSync(ext, `subjectAltName=${sans.join(',')}\nbasicConstraints=critical,CA:FALSE\n`
      + 'keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n');
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr,
      '-subj', `/CN=${cn}`]);
    openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', `0x${serial}`, '-days', '2',
      '-out', cert, '-extfile', ext]);
    return { name, cert, key, certPem: fs.readFileSync(cert), keyPem: fs.readFileSync(key), serial: serial.toUpperCase() };
  }

  cleanup() {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// Opens a TLS connection to 127.0.0.1:port with `options` (node:tls). Resolves {socket, protocol,
// serial} once the handshake is done, or rejects with the handshake's error (err.code).
function tlsProbe(port, options = {}, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ...options });
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no TLS handshake within ${timeoutMs} ms`)); }, timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const cert = socket.getPeerCertificate();
      resolve({ socket, protocol: socket.getProtocol(), serial: String(cert.serialNumber || '').toUpperCase() });
    });
    socket.once('error', (e) => { clearTimeout(timer); socket.destroy(); reject(e); });
  });
}

module.exports = { TestPki, tlsProbe, openssl };
