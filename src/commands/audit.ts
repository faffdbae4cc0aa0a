// `tidings audit verify [--tenant T]` and `tidings audit key`: the operator's side of the
// attempt chain (delivery/auditChain.ts). Verify reads the store only; it runs beside a
// running server on PostgreSQL (on the embedded store, stop the server first: one process
// owns the data folder).
import type { Command } from 'commander';
import type { Config } from '../config.js';
import { type VerifyReport, verifyChains } from '../delivery/auditChain.js';
import { auditPublicKey } from '../security/auditKey.js';
import { newKeyPair } from '../signing/ed25519.js';
import { migrate } from '../store/migrate.js';
import { lockDataDir, openStore } from '../store/open.js';

export function describeReport(r: VerifyReport): string[] {
  const lines = [
    `${r.tenants} chain(s), ${r.records} record(s) (${r.pruned} pruned by retention, hashes kept), ${r.checkpoints} signed checkpoint(s)`,
  ];
  if (r.unsealed > 0) lines.push(`${r.unsealed} attempt(s) recorded since the last seal: not covered yet`);
  if (r.keys.length > 0) lines.push(`checkpoints signed by ${r.keys.join(', ')}`);
  for (const p of r.problems) {
    lines.push(`FAILED tenant ${p.tenant_id || '(none)'}: ${p.kind}: ${p.message}`);
  }
  lines.push(r.ok ? 'the record verifies' : 'the record does NOT verify');
  return lines;
}

export async function auditVerify(
  config: Config,
  opts: { tenant?: string; json?: boolean },
): Promise<number> {
  const unlock = config.databaseUrl ? () => {} : lockDataDir(config.dataDir);
  try {
    const db = await openStore(config);
    try {
      await migrate(db);
      const trustedKey = config.auditSigningKey
        ? await auditPublicKey(db, config.auditSigningKey)
        : undefined;
      const report = await verifyChains(db, {
        ...(opts.tenant ? { tenant: opts.tenant } : {}),
        ...(trustedKey ? { trustedKey } : {}),
      });
      if (opts.json) console.log(JSON.stringify(report, null, 2));
      else for (const line of describeReport(report)) (report.ok ? console.log : console.error)(line);
      return report.ok ? 0 : 1;
    } finally {
      await db.close();
    }
  } finally {
    unlock();
  }
}

export function registerAuditCommands(program: Command, config: () => Config): void {
  const audit = program.command('audit').description('the hash-chained record of every attempt');
  audit
    .command('verify')
    .description('walk the attempt chains; name the first record changed, removed or inserted (exit 1)')
    .option('--tenant <id>', 'one tenant only')
    .option('--json', 'print the report as JSON')
    .action(async (flags: { tenant?: string; json?: boolean }) => {
      process.exitCode = await auditVerify(config(), flags);
    });
  audit
    .command('key')
    .description('print a new Ed25519 key for TIDINGS_AUDIT_SIGNING_KEY, and its public key')
    .action(() => {
      const k = newKeyPair();
      console.log(k.secretKey);
      console.error(`public key: ${k.publicKey}`);
    });
}
