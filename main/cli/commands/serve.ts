// `kura serve`: runs the appliance in this process until SIGINT, SIGTERM or `kura stop`
// (POST /admin/v1/stop), then stops gracefully and exits 0.
// In dev mode it also keeps the dev credential readable for `kura credentials env|profile`
// (dev-credential.ts says why a file) and prints how to point AWS clients at Kura, with the warning
// that older AWS CLIs ignore the endpoint variables (aws-files.ts).
import path from 'node:path';
import { devRootKeyFile, KURA_VERSION, startAppliance, startFailureOf, type Appliance } from '../../app.js';
import { disableCoreDumps } from '../../common/core-dumps.js';
import { coalescedLines, createLogger, errorFields, errorTrace, type Logger } from '../../common/log.js';
import { keepOutputFailuresFromStopping, type OutputGuard } from '../../common/output-streams.js';
import { clientEnv, ensureGuardCa, exportLines, shq } from '../aws-files.js';
import { CliError, CONFIG_OPTION, HELP_OPTION, JSON_OPTION, print, printJson, selfCommand, type CommandSpec, type Invocation } from '../command.js';
import { ENV_HELP, resolveConfig, type ConfigFlags } from '../config.js';
import { writeDevCredential } from '../dev-credential.js';
import { DEV_DATA_DIR } from '../locate.js';

export const DEV_REGION = 'us-east-1';

/** The writes lost to a failed stdout or stderr, as log fields (none when nothing was lost). */
function droppedOutput(output: OutputGuard): Record<string, number> {
  return Object.fromEntries(Object.entries(output.dropped()).filter(([, n]) => n > 0).map(([name, n]) => [`${name}WritesDropped`, n]));
}

function devBanner(appliance: Appliance, dataDir: string, guardCa: string): string[] {
  const url = appliance.server.url;
  const kura = selfCommand();
  // The commands below find this appliance by its data directory: on its own only where they look by
  // default (./.kura-dev), so any other one is named on each.
  const at = path.resolve(dataDir) === path.resolve(DEV_DATA_DIR) ? '' : ` --data-dir ${shq(dataDir)}`;
  const cred = appliance.devCredential!;
  return [
    `Kura ${KURA_VERSION} is running in DEV MODE — insecure: the root key is in ${devRootKeyFile(dataDir)}.`,
    `KMS endpoint: ${url}`,
    'Point the AWS CLI and SDKs at Kura:',
    `  in a shell:        eval "$(${kura} credentials env${at})"`,
    `  as an AWS profile: ${kura} credentials profile kura${at}   then: aws --profile kura kms list-keys`,
    '  or paste these lines into a shell:',
    ...exportLines({ endpoint: url, region: DEV_REGION, credential: cred, guardCa }),
    'WARNING: AWS CLIs older than v2.13 and v1.29 — Debian 12\'s /usr/bin/aws 2.9.19 among them — ignore',
    'AWS_ENDPOINT_URL_KMS and a profile\'s endpoint_url, and send the call, plaintext included, to the',
    'real AWS KMS. The AWS_CA_BUNDLE line above (and the profile\'s ca_bundle) makes them fail before',
    'sending anything; with such a CLI, pass the endpoint on every call:',
    `  /usr/bin/aws --endpoint-url ${url} kms list-keys`,
    ...(appliance.devOperator
      ? [
          `Operator console: ${url}/console/   sign in as ${appliance.devOperator.name}, passphrase ${appliance.devOperator.passphrase}`,
          `  (its approvals: ${kura} approvals sign ID --key ${shq(appliance.devOperator.keyFile)}${at})`,
        ]
      : [`Operator console: ${url}/console/`]),
    `Admin API: ${url}/admin/v1/status`,
    ...(appliance.xksTlsServer ? [`XKS proxy API over TLS: ${appliance.xksTlsServer.url}/<prefix>/kms/xks/v1/…`] : []),
    `Stop it with Ctrl-C or \`${kura} stop${at}\`.`,
  ];
}

async function run(inv: Invocation): Promise<number> {
  // Before anything is written: a log reader that goes away or a full disk under the log file costs
  // the log, never the appliance (bin/kura.js leaves serve's streams to this).
  const output = keepOutputFailuresFromStopping();
  const cfg = resolveConfig(inv.values as ConfigFlags);
  const log = createLogger(cfg.logLevel, undefined, cfg.logFormat);
  output.logTo(log);
  // Everything the appliance writes (database, WAL, tokens, the dev root key) is for its owner only.
  process.umask(0o077);
  // Before the root key, a PIN or the admin token is in memory: a crash must not copy them to disk.
  disableCoreDumps(log);
  // A stray rejection is a bug to fix, not a reason to drop every client: log it and keep serving.
  // Acknowledged writes are durable before they are acknowledged, so nothing depends on this.
  process.on('unhandledRejection', (e) => log.error('unhandled rejection', { error: errorTrace(e) }));
  // Signal handlers go in before anything is printed or started: a supervisor that sends SIGTERM as
  // soon as it reads the banner (or during start-up) must get a graceful stop, never the default kill.
  let stopReason = '';
  let requestStop: (reason: string) => void = () => undefined;
  const stopRequested = new Promise<void>((resolve) => {
    requestStop = (reason: string) => {
      if (stopReason) return;
      stopReason = reason;
      resolve();
    };
    process.on('SIGINT', () => requestStop('SIGINT'));
    process.on('SIGTERM', () => requestStop('SIGTERM'));
  });
  // Node opens its inspector on 127.0.0.1:9229 on SIGUSR1 unless a listener handles the signal, and
  // any local user could then attach and run code inside Kura, with its keys and its privileges.
  process.on('SIGUSR1', () => log.warn('SIGUSR1 ignored: Kura does not open a debugger'));
  // SIGHUP: the XKS TLS listener's certificate, key and client CA are read again (a renewed certificate
  // without a restart, which would leave a production appliance sealed). Handled from the start and
  // without that listener too: by default SIGHUP kills the process, dropping the calls in progress
  // (a closed terminal, a supervisor's reload sent to every service).
  const started: { appliance?: Appliance } = {};
  process.on('SIGHUP', () => {
    const running = started.appliance;
    if (!running?.xksTlsServer) {
      log.info('SIGHUP ignored: no XKS TLS listener to reload');
      return;
    }
    try {
      running.reloadXksTls();
      log.info('XKS TLS certificate reloaded', { port: running.xksTlsServer.port });
    } catch (e) {
      // The message is the operator's to act on (a file that cannot be read, a key that does not match
      // its certificate), and it comes from reading the operator's own files and node:tls, never a request.
      log.error('XKS TLS certificate not reloaded: the listener keeps the one it had', { error: e instanceof Error ? e.message : typeof e });
    }
  });
  let appliance: Appliance;
  try {
    appliance = await startAppliance(cfg, { log, onStopRequested: () => requestStop('POST /admin/v1/stop') });
  } catch (e) {
    const failure = startFailureOf(e, cfg);
    if (failure) throw new CliError(failure.code, failure.message);
    throw e;
  }
  started.appliance = appliance;
  try {
    await announce(inv, cfg, appliance, log);
  } catch (e) {
    // The appliance is up, but serve cannot go on: stop it before saying why, so that no listener,
    // runtime file or lock outlives the error (and SIGTERM, which nothing would wait for, is not needed).
    log.error('kura serve failed after the appliance started; stopping it', errorFields(e));
    await stopGracefully(appliance, log, output);
    throw e;
  }
  await stopRequested;
  log.info('stopping', { reason: stopReason });
  return stopGracefully(appliance, log, output);
}

/** Stops the appliance (within 15 s, or exits 1); 0 when every step of the stop succeeded, else 1. */
async function stopGracefully(appliance: Appliance, log: Logger, output: OutputGuard): Promise<number> {
  const force = setTimeout(() => {
    log.error('graceful stop timed out; exiting');
    process.exit(1);
  }, 15_000);
  force.unref();
  try {
    await appliance.stop();
  } catch (e) {
    coalescedLines(log).flush();
    // Every step was still tried (app.ts); a supervisor must see that this stop was not clean.
    log.error('kura stopped, but not cleanly', { ...errorFields(e), ...droppedOutput(output) });
    return 1;
  } finally {
    clearTimeout(force);
  }
  // The counts of refused calls whose lines were coalesced (the listener is closed: no more come).
  coalescedLines(log).flush();
  log.info('kura stopped', droppedOutput(output));
  return 0;
}

/** Logs the start, writes a dev appliance's credential files, and prints the banner. */
async function announce(inv: Invocation, cfg: ReturnType<typeof resolveConfig>, appliance: Appliance, log: Logger): Promise<void> {
  const status = await appliance.root.status();
  // What an operator or an incident responder reads first: which build, which process, where it listens
  // (the XKS TLS listener too), which data and in what state.
  log.info('kura started', {
    version: KURA_VERSION,
    pid: process.pid,
    endpoint: appliance.server.url,
    xksTlsEndpoint: appliance.xksTlsServer?.url,
    dataDir: cfg.dataDir,
    dev: cfg.dev,
    state: status.state,
    applianceId: appliance.applianceId,
  });
  const url = appliance.server.url;
  let guardCa: string | undefined;
  if (cfg.dev && appliance.devCredential) {
    const c = appliance.devCredential;
    writeDevCredential(cfg.dataDir, c);
    guardCa = ensureGuardCa(cfg.dataDir);
  }
  if (inv.json) {
    printJson({
      endpoint: url,
      dataDir: cfg.dataDir,
      pid: process.pid,
      version: KURA_VERSION,
      dev: cfg.dev,
      state: status.state,
      console: `${url}/console/`,
      ...(appliance.devOperator ? { devOperator: appliance.devOperator } : {}),
      ...(appliance.devCredential && guardCa
        ? {
            devCredential: { accessKeyId: appliance.devCredential.accessKeyId, secretAccessKey: appliance.devCredential.secretAccessKey },
            env: clientEnv({ endpoint: url, region: DEV_REGION, credential: appliance.devCredential, guardCa }),
          }
        : {}),
    });
  } else if (appliance.devCredential && guardCa) {
    // One write, so that whoever reads the banner (a user, a test, a supervisor) gets it whole.
    print(devBanner(appliance, cfg.dataDir, guardCa).join('\n'));
  } else {
    const banner = [`Kura ${KURA_VERSION} listening on ${url} (${status.state}); operator console: ${url}/console/`];
    // An init and a PIN unseal need the admin token, which only the data directory holds (its runtime
    // file names the endpoint): with --endpoint alone they looked in the default data directory and
    // failed. A custodian's share unseal needs no token, and may come from an account that cannot read it.
    const dataDirFlag = `--data-dir ${shq(cfg.dataDir)}`;
    if (status.state === 'uninitialized') banner.push(`Next: kura init --shares 5 --threshold 3 ${dataDirFlag}`);
    if (status.state === 'sealed') {
      banner.push(
        status.mode === 'pkcs11'
          ? `Next: kura unseal --pin-file F ${dataDirFlag}  (the PKCS#11 token's PIN)`
          : `Next: kura unseal --endpoint ${url}  (needs ${status.threshold} of ${status.shares} shares)`,
      );
    }
    banner.push('Stop it with Ctrl-C or `kura stop`.');
    print(banner.join('\n'));
  }
}

export const serve: CommandSpec = {
  name: 'serve',
  summary: 'run the appliance (KMS API on 127.0.0.1:7420)',
  description: `Runs the appliance: the AWS KMS-compatible API at POST /, the admin API at /admin/v1/ and the
operator console at /console/ (a dev appliance prints its console operator's passphrase).
It writes kura.runtime.json (0600: endpoint, pid, version, start time) in its data directory, which
the other kura commands read to find it, and removes it when it stops. It refuses to start with an
open-file limit below 128 (\`ulimit -n\`).
Stops gracefully on SIGINT/SIGTERM or \`kura stop\`: idle and half-sent connections close at once,
calls in progress get 5 seconds to finish, the database closes cleanly; then it exits 0 (1 when a
step of the stop failed: each is logged, and the others are still done).
On SIGHUP it reads the XKS TLS listener's certificate, key and client CA files again and serves new
connections with them (a renewed certificate needs no restart); files it cannot use are logged, and
the listener keeps what it had; without that listener SIGHUP is logged and ignored. SIGUSR1 is logged and ignored (Node would open its debugger).`,
  options: [
    {
      name: 'dev',
      help: 'dev mode: data in ./.kura-dev, root key in a 0600 file there (INSECURE), unsealed at start, prints a dev credential as shell exports',
    },
    { name: 'host', value: 'H', help: 'listen address (loopback only; default 127.0.0.1)' },
    { name: 'port', value: 'P', help: 'listen port (default 7420; 0 picks a free port)' },
    { name: 'data-dir', value: 'DIR', help: 'where the database and the admin token live (default ~/.local/share/kura, or ./.kura-dev with --dev)', complete: 'dir' },
    CONFIG_OPTION,
    { name: 'log-level', value: 'L', help: 'least severe level logged: debug, info (default), warn or error', choices: ['debug', 'info', 'warn', 'error'] },
    {
      name: 'log-format',
      value: 'F',
      help: 'log lines on stderr as JSON objects (json) or as text (text); default: text when stderr is a terminal, json otherwise',
      choices: ['json', 'text'],
    },
    { name: 'max-connections', value: 'N', help: 'connections served at once; more are answered 503 and closed (default: three quarters of the open-file limit less 64, at most 1024)' },
    { name: 'headers-timeout', value: 'S', help: 'seconds a client has to send complete request headers (default 10)' },
    { name: 'request-timeout', value: 'S', help: 'seconds a client has to send a complete request (default 30)' },
    { name: 'idle-timeout', value: 'S', help: 'seconds a kept-alive connection may sit idle (default 5)' },
    { name: 'regions', value: 'LIST', help: 'comma-separated regions requests may be signed for (default: every AWS region)' },
    { name: 'xks-rate', value: 'N', help: 'XKS proxy requests per second per store before ThrottlingException (default 1800, AWS\'s quota)' },
    { name: 'xks-answer-deadline', value: 'MS', help: 'XKS proxy: milliseconds a call\'s work on the key manager may take before DependencyTimeoutException (default 200; AWS KMS waits 250)' },
    { name: 'xks-tls-cert', value: 'PEM', help: 'serve the XKS proxy API also over HTTPS with this certificate chain (AWS KMS needs HTTPS)', complete: 'file' },
    { name: 'xks-tls-key', value: 'PEM', help: "the XKS TLS certificate's private key", complete: 'file' },
    { name: 'xks-tls-client-ca', value: 'PEM', help: 'mutual TLS: XKS clients must present a certificate this CA issued', complete: 'file' },
    { name: 'xks-tls-client-subject', value: 'LIST', help: 'mutual TLS: and with one of these subject common names, comma-separated (AWS KMS: cks.kms.REGION.amazonaws.com)' },
    { name: 'xks-tls-host', value: 'H', help: 'the XKS TLS listener\'s address (default 127.0.0.1; with TLS it may be any)' },
    { name: 'xks-tls-port', value: 'P', help: 'the XKS TLS listener\'s port (default 7443; 0: any free port)' },
    { name: 'xks-client-ca', value: 'PEM', help: 'external key stores: trust XKS proxies whose certificates these CAs issued, besides the system\'s CAs', complete: 'file' },
    { name: 'xks-connect-to', value: 'LIST', help: 'external key stores: HOST=ADDRESS:PORT,… connect to ADDRESS:PORT for the proxy endpoint https://HOST (TLS still checks HOST)' },
    { name: 'xks-client-timeout', value: 'MS', help: 'external key stores: milliseconds an XKS proxy has to answer (default 250, as AWS KMS)' },
    { ...JSON_OPTION, help: 'print the start-up banner as one JSON object (errors too)' },
    HELP_OPTION,
  ],
  footer: ENV_HELP,
  run,
};
